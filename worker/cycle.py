"""A full cycle on demand (`nianbao cycle`), and the one beat runs when it starts.

A cycle polls every due source (every active one with all_sources), then refreshes the
expectations, checks deadlines, sends reminders and overdue copies, tells what polling saw,
sends the digest when it is due and delivers what is pending. The deadline check comes after
the polls so that a report they find is never called missing.

Embedded, worker.runner.run_cycle runs it in one process. Distributed, it is two tasks:
`nianbao.cycle` (start: claim the due sources and hand out their polls) and
`nianbao.cycle_finish` (the rest), which comes back every few seconds, holding no worker
meanwhile, until the claimed sources have been polled or FINISH_WAIT has passed. Every part
is idempotent: two cycles at once claim disjoint sources, and notices are keyed.

Each finished cycle is recorded (Health "cycle"), which `status` and /healthz show.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import select

from models import Deficiency, Evaluation, Health, Notice, Report, Snapshot, Source
from models.db import session_scope
from models.types import utcnow
from worker import pipeline
from worker.delivery import pending_notices
from worker.digest import send_digest
from worker.errors import RulesUnavailable
from worker.events import notify_poll_events
from worker.followup import follow_up
from worker.planning import check_deadlines
from worker.runtime import Runtime
from worker.steps import Next

log = logging.getLogger(__name__)
COMPONENT = "cycle"
FINISH_WAIT = timedelta(minutes=pipeline.CLAIM_MINUTES)  # the claims lapse then: polling is beat's again
FINISH_RECHECK_SECONDS = 3


@dataclass
class Started:
    started_at: datetime
    polls: list[Next]
    source_ids: list[int] = field(default_factory=list)


def start(rt: Runtime, *, all_sources: bool = False) -> Started:
    """Re-read the agencies file, check the rules, claim the due sources; the polls to run."""
    started_at = utcnow()
    pipeline.refresh_roster(rt)
    pipeline.check_rules(rt)
    polls = pipeline.due_sources(rt, all_sources=all_sources)
    return Started(started_at, polls, [i for step in polls for i in step.arg["ids"]])


def unpolled(rt: Runtime, started_at: datetime, source_ids: list[int]) -> int:
    """How many of the claimed sources (still active) have not been polled since the start."""
    return len(unpolled_ids(rt, started_at, source_ids))


def unpolled_ids(rt: Runtime, started_at: datetime, source_ids: list[int]) -> list[int]:
    if not source_ids:
        return []
    with session_scope(rt.db_url) as session:
        polled = set(session.exec(select(Source.id).where(Source.last_polled_at >= started_at)))
        active = set(session.exec(select(Source.id).where(Source.active == True)))  # noqa: E712
    return sorted((set(source_ids) & active) - polled)


# ---- the distributed cycle's durable state ---------------------------------------------------------
# cycle_finish lives in the broker (a message with a countdown, held by a worker meanwhile): a killed
# worker or a restarted Redis loses it. So each cycle is also a row of its own (Health OPEN + its id,
# its state as JSON), touched by each of its cycle_finish, and the reconciler finishes a cycle not
# heard of for a lease. Two cycles at once are two rows: each is finished, by its message or here.
# A lost poll is not the cycle's business: its source stays owed and the reconciler polls it again
# (worker/polls.py); the cycle only waits for it.

OPEN = "cycle_open:"


def lease(rt: Runtime) -> timedelta:
    """How long a cycle's cycle_finish may go unheard of before the reconciler finishes the cycle
    (cycle_finish looks again every FINISH_RECHECK_SECONDS): the poll lease."""
    return timedelta(seconds=rt.settings.lease("poll"))


def hold(rt: Runtime, begun: Started, all_sources: bool) -> dict:
    """Record the cycle as owed its finish; its state (what its cycle_finish message carries)."""
    state = {"id": uuid.uuid4().hex[:12], "started_at": begun.started_at.isoformat(),
             "source_ids": begun.source_ids, "all": all_sources}
    with session_scope(rt.db_url) as session:
        session.add(Health(component=OPEN + state["id"], ok=True, message=json.dumps(state), checked_at=utcnow()))
        session.commit()
    return state


def heard(rt: Runtime, cycle_id: str) -> None:
    """cycle_finish is alive (it looked again): the reconciler leaves the cycle to it."""
    with session_scope(rt.db_url) as session:
        session.execute(update(Health).where(Health.component == OPEN + cycle_id).values(checked_at=utcnow()))
        session.commit()


def close(rt: Runtime, cycle_id: str) -> None:
    with session_scope(rt.db_url) as session:
        session.execute(delete(Health).where(Health.component == OPEN + cycle_id))
        session.commit()


def open_cycles(session) -> list[Health]:
    return list(session.exec(select(Health).where(Health.component.startswith(OPEN)).order_by(Health.checked_at)))


def overdue(rt: Runtime) -> list[Next]:
    """The reconciler's part: a cycle whose cycle_finish has not been heard of for a lease lost it.
    While its polls are owed (the reconciler polls lost ones again) and FINISH_WAIT has not passed,
    it is waited for; then it is finished here."""
    with session_scope(rt.db_url) as session:
        states = [json.loads(row.message) for row in open_cycles(session) if row.checked_at <= utcnow() - lease(rt)]
    steps: list[Next] = []
    for state in states:
        steps += settle(rt, state, by_reconciler=True)
    return steps


def settle(rt: Runtime, state: dict, *, by_reconciler: bool = False) -> list[Next] | None:
    """One look at an open cycle: None while its polls are still awaited (it is marked heard of),
    else the cycle is finished (once, whoever comes first) and the steps to run are returned."""
    started_at = datetime.fromisoformat(state["started_at"])
    left = unpolled_ids(rt, started_at, state["source_ids"])
    if left and utcnow() - started_at < FINISH_WAIT:
        heard(rt, state.get("id", ""))
        return [] if by_reconciler else None
    # Finished, then closed: a worker killed in between leaves the row, and the cycle is finished
    # again (every part is idempotent: notices are keyed), never not at all.
    steps, errors = finish(rt, polled=len(state["source_ids"]) - len(left), left=len(left))
    close(rt, state.get("id", ""))
    for error in errors:
        log.error("cycle: %s", error)
    return steps


def finish(rt: Runtime, *, polled: int, left: int = 0) -> tuple[list[Next], list[str]]:
    """Everything after the polls; returns the deliveries to run and the errors met."""
    errors: list[str] = []
    pipeline.refresh_expectations(rt)
    steps: list[Next] = []
    try:
        steps += check_deadlines(rt)
    except RulesUnavailable as exc:  # without rules nothing can be judged missing either
        errors.append(f"没有可用的规则，未检查截止日期：{exc}")
    steps += follow_up(rt)  # reminders before the correction date, the office copied after it
    steps += notify_poll_events(rt)  # unreachable sites, silent edits, backdated or ambiguous reports
    steps += send_digest(rt)  # only when the last digest is digest_days old
    steps += pending_notices(rt)  # includes retries of notices that failed transiently before
    said = f"轮询{polled}个来源" + (f"，其中{left}个在{int(FINISH_WAIT.total_seconds() // 60)}分钟内未轮询完" if left else "")
    pipeline.record_health(rt, COMPONENT, not (errors or left), "；".join([said, *errors]))
    return steps, errors


def last_finished(session) -> Health | None:
    return session.get(Health, COMPONENT)


# ---- what a cycle changed, counted from the tables (the same for both engines) -------------------------

_COUNTED = {"reports": Report, "snapshots": Snapshot, "evaluations": Evaluation, "deficiencies": Deficiency,
            "notices": Notice}


def marks(db_url: str) -> dict[str, int]:
    """The highest id of each table a cycle adds to: rows above it are new since."""
    with session_scope(db_url) as session:
        return {name: session.exec(select(func.coalesce(func.max(model.id), 0))).one()
                for name, model in _COUNTED.items()}


def polled_since(session, started_at: datetime) -> dict[str, int]:
    """Sources polled since `started_at`, by their status now (ok, failed)."""
    return dict(session.exec(select(Source.status, func.count()).where(Source.last_polled_at >= started_at)
                             .group_by(Source.status)).all())


def since(db_url: str, mark: dict[str, int], started_at: datetime) -> dict:
    """What happened since `mark`/`started_at`: new rows, sources polled, notices sent or failing."""
    with session_scope(db_url) as session:
        new = {name: session.exec(select(func.count()).select_from(model).where(model.id > mark[name])).one()
               for name, model in _COUNTED.items() if name != "deficiencies"}
        new["deficiencies"] = session.exec(select(func.count()).select_from(Deficiency).where(
            Deficiency.id > mark["deficiencies"], Deficiency.state == "open")).one()
        polled = polled_since(session, started_at)
        notices = dict(session.exec(select(Notice.status, func.count())
                                    .where((Notice.id > mark["notices"]) | (Notice.sent_at >= started_at))
                                    .group_by(Notice.status)).all())
    return {"new": new, "polled": sum(polled.values()), "polls_failed": polled.get("failed", 0), "notices": notices}


def waiting(rt: Runtime, *, ocr: bool = True) -> dict[str, int]:
    """Work still owed a next step, per stage, from the work states (what a waiting `nianbao
    cycle` watches; without ocr, scans waiting for OCR are not counted). Scoring without rules
    does not move, so it is not waited for; notices whose retry is due later are not either."""
    from worker.digest import OWED
    try:
        rt.rules.current()
        scoring = True
    except RulesUnavailable:
        scoring = False
    now = rt.now()
    with session_scope(rt.db_url) as session:
        def count(model, *where) -> int:
            return session.exec(select(func.count()).select_from(model).where(*where)).one()

        from worker import polls

        return {
            "poll": polls.waiting(session, utcnow(), polls.lease(rt))[0],
            "fetch": count(Report, Report.status == "discovered", Report.via != "ingest"),
            "parse": count(Snapshot, Snapshot.work_state.in_(("parse", "ocr") if ocr else ("parse",))),
            "evaluate": count(Snapshot, Snapshot.work_state == "evaluate") if scoring else 0,
            "plan": count(Evaluation, Evaluation.work_state == "plan"),
            "deliver": count(Notice, (Notice.status == "sending") | (
                (Notice.status == "pending") & ((Notice.next_attempt_at == None) | (Notice.next_attempt_at <= now)))),  # noqa: E711
            "digest": int(session.get(Health, OWED) is not None),  # due, waiting for the work above to settle
        }
