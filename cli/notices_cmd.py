"""`nianbao notices …`, `nianbao silence`, `nianbao digest`: the outbox, acknowledgements,
silences and the digest, from the command line."""

from __future__ import annotations

import getpass
import json
from typing import Optional

import typer

from cli.common import date_option
from notifications.dates import cn_date
from rich.console import Console
from rich.markup import escape
from rich.table import Table

notices_app = typer.Typer(help="The outbox: list, preview, acknowledge and re-send notices.", no_args_is_help=True)
console = Console()


def _outcome(rt, notice_id: int) -> str:
    """How a delivery went, in a sentence."""
    from models import Notice
    from models.db import session_scope
    from notifications.labels import error_said, label

    with session_scope(rt.db_url) as session:
        notice = session.get(Notice, notice_id)
        said = f"通知 {notice_id}：{label('notice_status', notice.status)}"
        return escape(said + (f"（{error_said(notice.last_error)}）" if notice.last_error else ""))


def _runtime():
    from cli.common import settings_or_exit
    from models.db import migrate
    from worker.runtime import get_runtime

    migrate(settings_or_exit().db_url)
    return get_runtime()


@notices_app.command("list")
def notices_list(status: Optional[str] = typer.Option(None, help="Only this status (pending, sent, failed, …)."),
                 limit: int = typer.Option(50, help="How many, newest first."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """The outbox and its delivery log, targets shown with secrets masked."""
    from sqlmodel import select

    from models import Notice
    from models.db import session_scope
    from worker.delivery import masked_targets

    rt = _runtime()
    with session_scope(rt.db_url) as session:
        query = select(Notice).order_by(Notice.id.desc()).limit(limit)
        if status:
            query = query.where(Notice.status == status)
        rows = []
        for n in session.exec(query):
            # The row's own count: a send whose outcome is unknown is an attempt too.
            rows.append({"id": n.id, "kind": n.kind, "audience": n.audience, "status": n.status,
                         "subject": n.subject, "targets": masked_targets(session, n), "attempts": n.attempts,
                         "last_error": n.last_error, "sent_at": n.sent_at.isoformat() if n.sent_at else None,
                         "acked_by": n.acked_by or None})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from notifications.labels import label

    table = Table(title="通知发件箱")
    for col in ("编号", "类别", "对象", "状态", "主题", "发送目标", "尝试", "错误"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), label("notice_kind", r["kind"]), label("audience", r["audience"]),
                      label("notice_status", r["status"]) + (f" ✓{escape(r['acked_by'])}已确认" if r["acked_by"] else ""),
                      escape(r["subject"]), escape(", ".join(r["targets"])), f"{r['attempts']} 次",
                      escape(error_said(r["last_error"]) if r["last_error"] else ""))
    console.print(table)


@notices_app.command("preview")
def notices_preview(report: int = typer.Option(..., "--report", help="Report id (see `nianbao status --json`).")):
    """Render what the report's latest evaluation would send, without sending or saving anything."""
    from worker.planning import preview_notices

    notices = preview_notices(_runtime(), report)
    if not notices:
        console.print(f"年报 {report}：不会发送任何通知（没有这份年报、尚未评分，或没有发现问题）")
        return
    from notifications.labels import label

    for n in notices:
        console.rule(f"{label('notice_kind', n.kind)} → {label('audience', n.audience)}")
        console.print(escape(n.subject), style="bold")
        console.print(escape(n.body))


@notices_app.command("ack")
def notices_ack(notice_id: int, by: str = typer.Option("", help="Who acknowledges (default: the login name).")):
    """Acknowledge a notice (the office has seen the alert and is handling it)."""
    from sqlalchemy import update

    from models import Notice
    from models.db import session_scope
    from models.types import utcnow

    rt = _runtime()
    with session_scope(rt.db_url) as session:
        done = session.execute(update(Notice).where(Notice.id == notice_id, Notice.acked_at == None)  # noqa: E711
                               .values(acked_at=utcnow(), acked_by=by or getpass.getuser()))
        session.commit()
    if done.rowcount != 1:
        typer.echo(f"通知 {notice_id} 不存在或已确认", err=True)
        raise typer.Exit(1)
    console.print(f"通知 {notice_id} 已确认")


@notices_app.command("resend")
def notices_resend(notice_id: int):
    """Try a failed (or unknown) notice again, e.g. after fixing its address."""
    from worker.delivery import resend
    from worker.runner import deliver_now

    rt = _runtime()
    if not resend(rt, notice_id):
        typer.echo(f"通知 {notice_id}：只有发送失败、状态未知或无接收地址的通知可以重发", err=True)
        raise typer.Exit(1)
    deliver_now(rt, notice_id)
    console.print(_outcome(rt, notice_id))


def silence(agency: Optional[str] = typer.Option(None, help="Agency slug; leave out for every agency."),
            rule: str = typer.Option(..., help="Rule id, e.g. TXT-11."),
            until: str = typer.Option(..., help="Last day of the silence, YYYY-MM-DD."),
            reason: str = typer.Option(..., help="Why (shown in the digest)."),
            by: str = typer.Option("", help="Who decides (default: the login name).")):
    """Stop notices about a rule (for one agency or all) until a date; recorded with who and why."""
    from sqlmodel import select

    from models import Agency, Silence
    from models.db import session_scope

    last_day = date_option(until, "--until")
    rt = _runtime()
    if last_day < rt.today():
        typer.echo(f"--until {until}：日期已过", err=True)
        raise typer.Exit(2)
    with session_scope(rt.db_url) as session:
        agency_id = None
        if agency:
            row = session.exec(select(Agency).where(Agency.slug == agency)).first()
            if row is None:
                typer.echo(f"没有代码为 {agency} 的单位（可用 `nianbao status` 查看）", err=True)
                raise typer.Exit(2)
            agency_id = row.id
        session.add(Silence(agency_id=agency_id, rule_id=rule, until=last_day, reason=reason,
                            created_by=by or getpass.getuser()))
        session.commit()
    console.print(f"已暂停{'单位 ' + agency + ' 的' if agency else '所有单位的'}规则 {rule} 通知，至{cn_date(last_day)}：{escape(reason)}")


def digest(send: bool = typer.Option(False, "--send", help="Send it now (otherwise only show it).")):
    """Show (or send) the digest to the office: states, new / still open / resolved deficiencies."""
    from models.db import session_scope
    from worker.digest import build_digest
    from worker.runner import deliver_now

    rt = _runtime()
    with session_scope(rt.db_url) as session:
        if not send:
            session.info["preview"] = True
        notice = build_digest(session, rt)
        if notice is None:
            console.print("今天的监测汇总已经发送（见 `nianbao notices list`）")
            return
        console.print(escape(notice.subject), style="bold")
        console.print(escape(notice.body))
        if send:
            session.commit()
            deliver_now(rt, notice.id)
            console.print(_outcome(rt, notice.id))
        else:
            session.rollback()
