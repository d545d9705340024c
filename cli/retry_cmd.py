"""`nianbao retry`: redo by hand work the reconciler gave up on (or a notice that failed)."""

from __future__ import annotations

from collections import deque
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
KINDS = "report（年报：抓取）、snapshot（年报文件版本：读取、评分）、evaluation（评分结果：生成通知）、notice（通知：发送）"


def retry(kind: Optional[str] = typer.Argument(None, help="report | snapshot | evaluation | notice"),
          item_id: Optional[int] = typer.Argument(None, help="Its id (from `nianbao status` or the admin notice)."),
          failed: bool = typer.Option(False, "--failed", help="Retry every item that has stopped (failed).")):
    """Set stopped work owing its step again (attempts from zero) and run it: in this process on
    the embedded engine, as a task when distributed."""
    from cli.common import settings_or_exit
    from models.db import migrate, session_scope
    from notifications.labels import label
    from worker.reconciler import RETRY_KINDS, failed_items, retry as reset
    from worker.runtime import get_runtime

    settings = settings_or_exit()
    if failed == (kind is not None):
        typer.echo("请给出要重试的工作（例如 nianbao retry snapshot 12），或用 --failed 重试全部已停止的工作", err=True)
        raise typer.Exit(2)
    if kind is not None and (kind not in RETRY_KINDS or item_id is None):
        typer.echo(f"无法识别“{kind} {item_id or ''}”：类别应为 {KINDS}，后跟编号", err=True)
        raise typer.Exit(2)
    migrate(settings.db_url)
    rt = get_runtime()
    if failed:
        with session_scope(rt.db_url) as session:
            items = failed_items(session)
        if not items:
            console.print("没有已停止的工作")
            return
    else:
        items = [(kind, item_id)]
    steps, refused = [], []
    for k, i in items:
        got = reset(rt, k, i)
        (steps.extend(got) if got else refused.append((k, i)))
    for k, i in refused:
        typer.echo(f"{label('work_kind', k)} {i}：不存在，或不是已停止、等待中的工作，无需重试", err=True)
    if steps:
        if settings.embedded:
            from worker.runner import CycleReport, drain

            report = CycleReport()
            drain(rt, deque(steps), report)
            console.print(f"已重新执行 {len(steps)} 项工作，共运行 {sum(report.steps.values())} 个步骤"
                          + (f"；{len(report.errors) + len(report.transient)} 个步骤出错，见日志" if report.errors or report.transient else ""))
        else:
            from worker.tasks import enqueue

            lost = enqueue(steps)
            console.print(f"已将 {len(steps) - lost} 项工作交给任务队列"
                          + (f"；{lost} 项未能交出，遗漏工作巡检会在租期过后重新派发" if lost else ""))
        for k, i in items:
            if (k, i) not in refused:
                console.print(escape(_state(rt, k, i)))
    raise typer.Exit(1 if refused and not steps else 0)


def _state(rt, kind: str, item_id: int) -> str:
    """Where the item stands now, in a sentence."""
    from models import Evaluation, Notice, Report, Snapshot
    from models.db import session_scope
    from notifications.labels import error_said, label

    with session_scope(rt.db_url) as session:
        row = session.get({"report": Report, "snapshot": Snapshot, "evaluation": Evaluation, "notice": Notice}[kind],
                          item_id)
        name = f"{label('work_kind', kind)} {item_id}"
        if kind == "report":
            return f"{name}：{label('report_status', row.status)}"
        if kind == "notice":
            return f"{name}：{label('notice_status', row.status)}"
        return f"{name}：{label('work_state', row.work_state)}" + (
            f"（{error_said(row.last_error)}）" if row.work_state == "failed" and row.last_error else "")
