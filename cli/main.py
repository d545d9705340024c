"""`nianbao`: the command line. Entry points only: each command calls into worker/ or models/."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from cli.common import read_report_file, settings_or_exit
from cli.cycle_cmd import cycle
from cli.ingest_cmd import ingest
from cli.notices_cmd import digest, notices_app, silence
from cli.retry_cmd import retry
from cli.rules_cmd import rescore, rules_app, score
from cli.show import print_parsed, status_table
from cli.web_cmd import web_app

app = typer.Typer(help="nianbao — compliance monitor for 政府信息公开工作年度报告.", no_args_is_help=True,
                  pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]})
agencies_app = typer.Typer(help="Check the agencies file.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(agencies_app, name="agencies")
app.add_typer(db_app, name="db")
app.add_typer(rules_app, name="rules")
app.command()(cycle)
app.command()(score)
app.command()(ingest)
app.command()(rescore)
app.add_typer(notices_app, name="notices")
app.command()(silence)
app.command()(digest)
app.command()(retry)
app.add_typer(web_app, name="web")
console = Console()
err = Console(stderr=True)


def _settings():
    return settings_or_exit()


def _runtime():
    from models.db import migrate
    from worker.runtime import get_runtime

    settings = _settings()
    migrate(settings.db_url)
    return get_runtime()


@app.command()
def demo(keep: bool = typer.Option(False, help="Keep the previous demo database instead of starting fresh.")):
    """Serve six simulated agency portals locally, run one full cycle on a fresh SQLite database,
    and show the status table and where the notices went."""
    from cli.demo import run_demo

    raise typer.Exit(run_demo(console, fresh=not keep))


@app.command()
def run(once: bool = typer.Option(False, "--once", help="Run one full cycle, then exit.")):
    """Embedded engine: scheduler and worker in one process (no broker needed)."""
    from worker.runner import run_cycle, run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = _runtime()
    if once:
        from cli.cycle_cmd import summary
        from models.types import utcnow
        from worker import cycle as cycles

        mark, started_at = cycles.marks(rt.db_url), utcnow()
        report = run_cycle(rt)
        summary(cycles.since(rt.db_url, mark, started_at), report.seconds, True)
        for line in report.transient + report.errors:
            console.print(f"[yellow]{line}[/yellow]")
        _print_status(rt)
        return
    try:
        run_forever(rt)
    except KeyboardInterrupt:
        console.print("已停止。")


@app.command()
def worker(concurrency: int = typer.Option(2, help="Worker processes."),
           queues: str = typer.Option("fetch,work,notify", help="Queues to consume.")):
    """Distributed engine: a Celery worker on NIANBAO_BROKER_URL."""
    settings = _settings()
    if settings.embedded:
        err.print("[red]没有设置任务队列地址 NIANBAO_BROKER_URL：不用任务队列时请运行 `nianbao run`（内置引擎）。[/red]")
        raise typer.Exit(2)
    from cli.failures import check_broker
    from models.db import migrate

    migrate(settings.db_url)
    check_broker(settings.broker_url)  # Celery would retry forever; say it once and let the supervisor retry
    from worker.celery_app import app as celery_app

    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-Q", queues]
    if "ocr" in queues.split(","):  # a scan takes seconds a page: one at a time, not a reserve other workers wait on
        argv.append("--prefetch-multiplier=1")
    celery_app.worker_main(argv)


@app.command()
def beat():
    """Distributed engine: the Celery beat scheduler (polls, deadlines, delivery retries)."""
    settings = _settings()
    if settings.embedded:
        err.print("[red]没有设置任务队列地址 NIANBAO_BROKER_URL：不用任务队列时请运行 `nianbao run`（内置引擎）。[/red]")
        raise typer.Exit(2)
    from cli.failures import check_broker

    check_broker(settings.broker_url)
    from worker.celery_app import app as celery_app

    schedule = Path(settings.home) / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])


def _print_status(rt, as_json: bool = False) -> None:
    from models.db import session_scope
    from models.types import utcnow
    from worker.checks import all_checks, say
    from worker.planning import expected_year
    from worker.status import agency_statuses, health, notice_counts

    from worker.backlog import backlog, lines_zh

    checks = all_checks(rt)
    with session_scope(rt.db_url) as session:
        rows = agency_statuses(session, rt.today())
        recorded = health(session)
        notices = notice_counts(session)
        work = backlog(session, rt.settings, reference_now=rt.now())
    if as_json:
        print(json.dumps({"year": expected_year(rt.today()), "agencies": [r.as_dict() for r in rows],
                          "checks": [c.as_dict() for c in checks], "work": work.as_dict(), "health": recorded,
                          "notices": notices}, ensure_ascii=False, indent=2))
        return
    from notifications.labels import label

    console.print(status_table(rows, expected_year(rt.today())))
    console.print("[bold]运行情况[/bold]")
    now = utcnow()
    for check in checks:
        console.print(f"[{'green' if check.ok else 'red'}]●[/] {escape(say(check, now))}")
        for problem in check.problems:
            console.print(f"    {escape(problem)}", highlight=False)
    console.print("[bold]工作进度[/bold]")
    for line in lines_zh(work):
        console.print(f"  {escape(line)}", highlight=False)
    console.print("通知：" + ("，".join(f"{label('notice_status', k)} {v} 条" for k, v in sorted(notices.items())) or "无"))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """Where every agency stands: latest report, score, open deficiencies, deadline state."""
    _print_status(_runtime(), as_json)


@app.command()
def parse(file: Path, as_json: bool = typer.Option(False, "--json", help="Print the report-fields JSON.")):
    """Read one report file (HTML, text, PDF, DOCX; a scan or a picture by OCR) into the canonical fields."""
    report = read_report_file(file)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print_parsed(console, report.to_json())


@agencies_app.command("check")
def agencies_check(file: Path,
                   resolve: bool = typer.Option(True, "--resolve/--no-resolve",
                                                help="Ask DNS whether source hosts are private addresses (3 s at most).")):
    """Report every mistake in an agencies file, with file:line and what to write instead.

    Notice targets are checked by Apprise itself, with ${NAME} secrets as placeholders: the
    secrets need not be set here. Warnings (a secret not set in this environment, an allowed
    host that matches no source, a source on a private address) do not fail the check."""
    import notifications.outbox  # noqa: F401  (registers outbox:// with Apprise before the targets are checked)
    from config.agencies import AgencyFileError, dns_warnings, load_roster

    try:
        roster = load_roster(file)
    except AgencyFileError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)  # plain lines: editors and grep read file:line
        errors = sum(1 for p in exc.problems if p.level == "error")
        err.print(f"[red]{file}：有 {errors} 处错误，请按上面各行（文件:行号）修改。[/red]")
        raise typer.Exit(1)
    warnings = roster.warnings + (dns_warnings(roster) if resolve else [])
    for warning in warnings:
        typer.echo(str(warning), err=True)
    from notifications.labels import label

    levels = [a.level for a in roster.agencies]
    console.print(f"[green]单位名录无误[/green]：{roster.office_name}；{len(roster.agencies)} 个单位"
                  f"（{label('level', 'government')} {levels.count('government')} 个，"
                  f"{label('level', 'department')} {levels.count('department')} 个），"
                  f"年报栏目 {sum(len(a.sources) for a in roster.agencies)} 个"
                  + (f"；警示 {len(warnings)} 条（不影响使用，见上）" if warnings else "") + "。")


@db_app.command("upgrade")
def db_upgrade():
    """Apply schema migrations (also done automatically at start)."""
    from models.db import migrate

    settings = _settings()
    migrate(settings.db_url)
    console.print(f"数据库结构已是最新：{settings.db_url.split('@')[-1]}")


@app.callback()
def _global_options(verbose: bool = typer.Option(False, "--verbose",
                                                 help="When the database or broker cannot be reached, print the "
                                                      "traceback too (as NIANBAO_DEBUG=1 does).")):
    """nianbao — compliance monitor for 政府信息公开工作年度报告."""


def main() -> None:  # the `nianbao` command: an unreachable database or broker is one line, exit 3
    from cli.failures import run

    run(app)


if __name__ == "__main__":  # pragma: no cover
    main()
