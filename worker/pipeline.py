"""The step table and the cycle helpers shared by the Celery tasks and the embedded runner."""

from __future__ import annotations

import logging
import time
from typing import Callable

from config.agencies import AgencyFileError, load_roster
from models import Health
from models.db import session_scope
from models.types import utcnow
from worker.delivery import deliver, deliver_many
from worker.errors import RulesUnavailable
from worker.parsing import ocr_snapshot, parse_snapshot, parse_snapshots
from worker.planning import plan_notices, plan_notices_many
from worker import polls
from worker.polling import fetch_report, fetch_reports, poll_source
from worker.roster import sync_roster
from worker.runtime import Runtime
from worker.scoring import evaluate, evaluate_many
from worker.steps import Next

log = logging.getLogger(__name__)

STEP_FUNCTIONS: dict[str, Callable[[Runtime, int], list[Next]]] = {
    "poll_source": poll_source,
    "poll_batch": polls.poll_batch,  # takes its sources first: never two polls of one source at once
    "fetch_report": fetch_report,
    "parse_snapshot": parse_snapshot,
    "ocr_snapshot": ocr_snapshot,
    "evaluate": evaluate,
    "plan_notices": plan_notices,
    "deliver": deliver,
}


# Steps that take a list of ids as one piece of work (the Celery tasks hand them on so, see
# worker.tasks). A list function keeps each item's own outcome: an item that fails has its
# error recorded on its row (its step still owed) and the others are done; only an error of
# the database fails the whole list. A step of worker.tasks.IN_ONE_TRANSACTION without one
# here is run item by item.
BATCH_FUNCTIONS: dict[str, Callable[[Runtime, list[int]], list[Next]]] = {
    "fetch_report": fetch_reports,
    "parse_snapshot": parse_snapshots,
    "evaluate": evaluate_many,
    "plan_notices": plan_notices_many,
    "deliver": deliver_many,
}


def run_step(rt: Runtime, step: str, arg) -> list[Next]:
    if isinstance(arg, list):
        return BATCH_FUNCTIONS[step](rt, [int(i) for i in arg])
    return STEP_FUNCTIONS[step](rt, arg)


def record_health(rt: Runtime, component: str, ok: bool, message: str = "") -> None:
    with session_scope(rt.db_url) as session:
        row = session.get(Health, component) or Health(component=component)
        row.ok, row.message, row.checked_at = ok, message, utcnow()
        session.add(row)
        session.commit()


def refresh_roster(rt: Runtime) -> bool:
    """Re-read the agencies file into the tables; a broken file keeps the last good roster."""
    import notifications.outbox  # noqa: F401  (outbox:// is an Apprise scheme once this is imported)

    try:
        roster = load_roster(rt.settings.agencies_file)
    except AgencyFileError as exc:
        log.error("agencies file has errors, keeping the previous roster:\n%s", exc)
        record_health(rt, "agencies", False, str(exc))
        return False
    # A private source is what the demo and tests are made of when they allow private hosts.
    warnings = [w for w in roster.warnings if not (rt.settings.allow_private_hosts and w.about == "private_host")]
    for warning in warnings:
        log.warning("agencies file: %s", warning)
    with session_scope(rt.db_url) as session:
        result = sync_roster(session, roster)
    warned = f"; {len(warnings)} warning(s): {warnings[0]}" if warnings else ""
    record_health(rt, "agencies", True, f"{result.agencies} agencies, {result.sources} sources{warned}")
    return True


HEALTH_REFRESH = 60.0  # seconds: an unchanged health line is written again only this often
_health_written: dict[tuple[str, str], tuple[bool, str, float]] = {}


def record_health_if_changed(rt: Runtime, component: str, ok: bool, message: str = "") -> None:
    """record_health, skipped when this process wrote the same line less than a minute ago: a
    worker checks the rules before every evaluation, and a write each time is a commit per report."""
    key = (rt.db_url, component)
    last = _health_written.get(key)
    now = time.monotonic()
    if last and last[:2] == (ok, message) and now - last[2] < HEALTH_REFRESH:
        return
    record_health(rt, component, ok, message)
    _health_written[key] = (ok, message, now)


def check_rules(rt: Runtime) -> bool:
    try:
        ruleset = rt.rules.current()
    except RulesUnavailable as exc:
        record_health_if_changed(rt, "rules", False, str(exc))
        return False
    ok = not rt.rules.error
    record_health_if_changed(rt, "rules", ok,
                             rt.rules.error or f"{len(ruleset.rules)} rules, version {ruleset.version}")
    return ok


CLAIM_MINUTES = polls.CLAIM_MINUTES


def due_sources(rt: Runtime, *, all_sources: bool = False) -> list[Next]:
    """Sources whose next poll time has come (all active ones with all_sources, which also
    re-checks every recent report), claimed and in batches (worker/polls.py): a poll lost with
    its message is handed out again by the reconciler after the poll lease."""
    return polls.claim_due(rt, all_sources=all_sources)


def refresh_expectations(rt: Runtime) -> int:
    """Every agency's expected report for the current year (pending turns missing with time)."""
    from worker import expectations

    with session_scope(rt.db_url) as session:
        changed = expectations.refresh(session, rt.today())
        session.commit()
    return changed
