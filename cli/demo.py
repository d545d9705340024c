"""`nianbao demo`: six simulated agency portals on a local HTTP server, one full cycle on a
fresh SQLite database under var/demo/, the status table, and where the notices went.

The demo's clock is pinned (DEMO_TODAY) so it shows the same states whatever the date: its
deadlines and every time it records (models.types.pin_clock) fall on that day.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from contextlib import contextmanager
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from notifications.dates import cn_date
from notifications.labels import label

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_TODAY = date(2026, 6, 30)  # after both 2025 deadlines (1月31日, 3月31日)
DEMO_HOME = Path("var/demo")
DASHBOARD_HINT = "make web（即 .venv/bin/nianbao web --demo），浏览器打开 http://127.0.0.1:8000/"
# The pipeline's step names, as the progress bar shows them.
STEP_CN = {"poll": "抓取栏目", "poll_batch": "抓取栏目", "poll_source": "抓取栏目", "fetch_report": "下载年报",
           "parse_snapshot": "读取年报", "evaluate": "评分", "plan_notices": "生成通知", "deliver": "发送通知",
           "check_deadlines": "检查时限", "digest": "监测汇总", "events": "抓取提醒"}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the progress bar is the demo's output
        pass


@contextmanager
def portal_server(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free loopback port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_demo(console: Console, *, fresh: bool = True) -> int:
    from config.settings import Settings
    from models.db import migrate, session_scope
    from models.types import pin_clock
    from worker.planning import expected_year
    from worker.runner import run_cycle
    from worker.runtime import Runtime
    from worker.status import agency_statuses, notice_counts
    from cli.show import status_table

    if not (EXAMPLES / "agencies.yaml").is_file():
        console.print(f"[red]演示用的单位网站不在这里（{EXAMPLES}）：请在源代码目录中运行演示[/red]")
        return 2
    home = DEMO_HOME.resolve()
    if fresh and home.exists():
        shutil.rmtree(home)
    settings = Settings(home=home, agencies_file=EXAMPLES / "agencies.yaml", allow_private_hosts=True,
                        today=DEMO_TODAY, broker_url="", database_url="")
    pin_clock(DEMO_TODAY)  # every time the demo records (polled, fetched, sent) is on the demo's day
    rt = Runtime(settings)
    migrate(rt.db_url)
    with portal_server(EXAMPLES / "portals") as base:
        os.environ["NIANBAO_DEMO_BASE"] = base
        console.print(f"演示单位网站 {base} · 数据库 {rt.db_url} · 演示日期 {cn_date(DEMO_TODAY)}")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            task = progress.add_task("抓取", total=1)

            def show(step: str, done: int, total: int) -> None:
                progress.update(task, description=f"{STEP_CN.get(step, step):<8}", completed=done, total=total)

            report = run_cycle(rt, progress=show)
    for line in report.transient + report.errors:
        console.print(f"[yellow]{line}[/yellow]")
    with session_scope(rt.db_url) as session:
        rows = agency_statuses(session, rt.today())
        notices = notice_counts(session)
    console.print(status_table(rows, expected_year(rt.today())))
    outbox = settings.outbox
    files = sorted(p for p in outbox.rglob("*") if p.is_file()) if outbox.exists() else []
    counts = "，".join(f"{label('notice_status', k)} {v} 条" for k, v in notices.items())
    console.print(f"共 {sum(notices.values())} 条通知（{counts}），"
                  f"写入 {outbox}/：")
    for path in files:
        console.print(f"  {path.relative_to(outbox)}")
    agency_notices = [f for f in files if f.parent.name not in ("office", "admins") and f.suffix == ".txt"]
    example = agency_notices[0] if agency_notices else (files[0] if files else outbox)
    console.print(f"本轮用时 {report.seconds:.1f} 秒。查看一条通知：cat {example}")
    console.print(f"在看板上查看：{DASHBOARD_HINT}")
    return 0
