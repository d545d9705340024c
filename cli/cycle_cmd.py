"""`nianbao cycle`: a full cycle now, on either engine, with its progress and what it did in Chinese."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from cli.common import settings_or_exit

console = Console()

STEP_WORDS = {"poll_batch": "轮询批次", "poll_source": "轮询来源", "fetch_report": "抓取年报", "parse_snapshot": "读取文件",
              "evaluate": "评分", "plan_notices": "生成整改项和通知", "deliver": "发送通知"}
WAIT_WORDS = {"poll": "待轮询来源", "fetch": "待抓取年报", "parse": "待读取文件", "evaluate": "待评分", "plan": "待生成通知", "deliver": "待发送通知", "digest": "待生成监测汇总"}


def cycle(all_sources: bool = typer.Option(False, "--all", help="Poll every active source, not only those due."),
          wait: bool = typer.Option(True, "--wait/--no-wait",
                                    help="Distributed engine: wait for the workers to finish (default), or only hand the cycle over."),
          timeout: int = typer.Option(600, min=1, help="Seconds to wait for the workers at most.")):
    """Run a full cycle now: poll what is due, refresh expectations, check deadlines, deliver what
    is pending. Embedded: in this process; distributed: handed to the Celery workers."""
    from models.db import migrate
    from models.types import utcnow
    from worker import cycle as cycles
    from worker.runtime import get_runtime

    settings = settings_or_exit()
    migrate(settings.db_url)
    rt = get_runtime()
    mark, started_at, clock = cycles.marks(rt.db_url), utcnow(), time.monotonic()
    if settings.embedded:
        errors = _embedded(rt, all_sources)
        finished = True
    else:
        errors, finished = _distributed(rt, all_sources, wait, timeout, started_at)
        if not wait:
            return
    summary(cycles.since(rt.db_url, mark, started_at), time.monotonic() - clock, finished)
    digest_line(rt)
    for error in errors:
        console.print(f"[red]{error}[/red]")
    if errors or not finished:
        raise typer.Exit(1)


def _embedded(rt, all_sources: bool) -> list[str]:
    from worker.runner import run_cycle

    console.print("开始巡检（本进程内执行）……")
    said, counts = {"at": 0.0}, {}

    def progress(step: str, done: int, total: int) -> None:
        word = STEP_WORDS.get(step, "其他")
        counts[word] = counts.get(word, 0) + 1
        if time.monotonic() - said["at"] >= 2:
            said["at"] = time.monotonic()
            console.print("进度：" + "，".join(f"{w} {n}" for w, n in counts.items()) + f"；队列中还有 {total - done} 步")

    report = run_cycle(rt, all_sources=all_sources, progress=progress)
    if report.transient:
        console.print(f"[yellow]{len(report.transient)} 项暂时失败，下次巡检会重试。[/yellow]")
    return report.errors


def _distributed(rt, all_sources: bool, wait: bool, timeout: int, started_at) -> tuple[list[str], bool]:
    from models.db import session_scope
    from worker import cycle as cycles
    from worker.celery_app import app
    from cli.failures import check_broker, mask

    check_broker(rt.settings.broker_url)  # unreachable: one line (cli.failures), not a publish retried for minutes
    app.send_task("nianbao.cycle", args=[{"all": all_sources, "by": "cli"}])
    console.print(f"已把巡检交给后台工作进程（任务队列 {mask(rt.settings.broker_url)}）。")
    if not wait:
        console.print("进度可用 nianbao status 查看。")
        return [], False
    begun, deadline, last, calm, asked = time.monotonic(), time.monotonic() + timeout, None, 0, False
    while time.monotonic() < deadline:
        with session_scope(rt.db_url) as session:
            health = cycles.last_finished(session)
            finished = health is not None and health.checked_at >= started_at
            polled = sum(cycles.polled_since(session, started_at).values())
        left = cycles.waiting(rt)
        line = (f"已轮询 {polled} 个来源；" + ("截止检查、提醒和待发通知已安排；" if finished else "等待轮询完成；")
                + "，".join(f"{WAIT_WORDS[k]} {v}" for k, v in left.items()))
        if line != last:
            console.print(line)
            last, calm = line, 0
        calm += 1
        if not (asked or finished or polled) and time.monotonic() - begun > 10:
            asked = True  # nothing moved: say why when no worker is there to take the cycle
            if not app.control.ping(timeout=2.0):
                console.print("[yellow]没有工作进程应答：巡检已排队，工作进程启动后就会执行（请确认 nianbao worker 在运行）。[/yellow]")
        if finished and not any(left.values()) and calm >= 3:  # settled: nothing waits, nothing moved for 3 s
            errors = [] if health.ok else [f"巡检有问题：{health.message}"]
            return errors, True
        time.sleep(1)
    console.print(f"[yellow]{timeout} 秒内后台尚未处理完，工作仍在进行；可用 nianbao status 查看进度。[/yellow]")
    return [], False


def summary(done: dict, seconds: float, finished: bool) -> None:
    new, notices = done["new"], done["notices"]
    from notifications.labels import label

    told = "、".join(f"{label('notice_status', k)} {v} 条" for k, v in sorted(notices.items())) or "无"
    console.print(("巡检完成" if finished else "截至目前") + f"，用时 {seconds:.0f} 秒：轮询来源 {done['polled']} 个"
                  + (f"（其中 {done['polls_failed']} 个抓取失败）" if done["polls_failed"] else "")
                  + f"，新发现年报 {new['reports']} 份，抓取新版本 {new['snapshots']} 份，评分 {new['evaluations']} 次，"
                  f"新开整改项 {new['deficiencies']} 项；通知：{told}。")


def digest_line(rt) -> None:
    """A digest that fell due in this cycle but waits for work still owed (a step that keeps
    failing holds it back): say so, what it waits for, and the latest time it goes out."""
    from notifications.dates import cn_datetime
    from worker.digest import owed

    waits = owed(rt)
    if waits is None:
        return
    latest, left = waits
    what = "，".join(f"{WAIT_WORDS[k]} {v}" for k, v in left.items() if k in WAIT_WORDS)
    console.print("[yellow]监测汇总已到期，" + (f"等待剩余工作完成后发送（{what}）" if what else "将由后台自动发送")
                  + f"；最迟于 {cn_datetime(latest)} 发送。[/yellow]")
