"""`nianbao ingest FILE --agency SLUG`: a report handed in by other means (mail, a USB stick, a
site nianbao cannot reach), stored, parsed, scored and noticed like a fetched one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from cli.common import date_option, settings_or_exit

console = Console()


def ingest(file: Path = typer.Argument(..., help="The report file (PDF, DOCX, HTML, text)."),
           agency: str = typer.Option(..., "--agency", help="The agency's slug in the agencies file."),
           year: Optional[int] = typer.Option(None, help="Report year; default: read from the document."),
           published: Optional[str] = typer.Option(None, help="Publication date YYYY-MM-DD, when known.")):
    """Add a report file for an agency; in the embedded engine it is parsed and scored at once."""
    from models.db import migrate
    from worker.polling import ingest_file
    from worker.runtime import get_runtime

    settings = settings_or_exit()
    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"{file}：无法读取文件（{exc.strerror or exc}）", err=True)
        raise typer.Exit(2)
    published_on = date_option(published, "--published")
    migrate(settings.db_url)
    rt = get_runtime()
    try:
        ingested = ingest_file(rt, agency, file.name, data, year, published_on)
    except (LookupError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    report_id, steps = ingested.report_id, ingested.steps
    if settings.embedded:
        from collections import deque

        from worker.runner import CycleReport, drain

        done = CycleReport()
        drain(rt, deque(steps), done)
        for line in done.transient + done.errors:
            console.print(f"[yellow]{line}[/yellow]")
    else:
        from worker.tasks import enqueue

        enqueue(steps)
    if not steps:
        console.print(f"报告 {report_id}（单位 {agency}）：与已保存的版本相同，未重复保存。")
    else:
        console.print(f"报告 {report_id}（单位 {agency}）：已保存"
                      + ("，已读取并评分（nianbao status 查看）。" if settings.embedded else "，已排队等待读取和评分。"))
    if ingested.review:
        console.print(f"[yellow]待人工确认：{ingested.review}[/yellow]")
