"""Lists of work through the Celery tasks' code (worker.tasks): a poll batch's finds fetched in one
task; a list of snapshots read, scored and planned in one transaction, each item keeping its own
work state, an item that fails leaving its error on its row and its step owed while the others
are done; the notices the list planned delivered in one task, each once. Real SQLite and
PostgreSQL, real HTTP portals and a real notice endpoint; what a task hands to the broker is
collected instead of sent, so the test runs each hand-on itself."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Evaluation, Notice, Report, Snapshot
from models.db import session_scope
from tests.test_reconciler import run_losing
from worker import tasks
from worker.runtime import set_runtime


@pytest.fixture
def handed(rt, monkeypatch):
    """What the tasks hand on, in order; the runtime the tasks use is the test's."""
    out = []
    monkeypatch.setattr(tasks, "enqueue", lambda steps: out.extend(steps) or 0)
    set_runtime(rt)
    yield out
    set_runtime(None)


def test_a_poll_batch_finds_are_fetched_in_one_task_and_handed_on_as_lists(rt, handed):
    lost = run_losing(rt, {"fetch_report"})
    ids = sorted(s.arg for s in lost)
    assert len(ids) >= 3 and all(s.step == "fetch_report" for s in lost)
    tasks._run("fetch_report", ids)
    with session_scope(rt.db_url) as session:
        reports = session.exec(select(Report).where(Report.id.in_(ids))).all()
        assert all(r.status == "fetched" and r.latest_snapshot_id for r in reports)
        owed = sorted(s.id for s in session.exec(select(Snapshot).where(Snapshot.work_state == "parse")))
    lists = [s for s in handed if s.step == "parse_snapshot"]
    assert all(isinstance(s.arg, list) for s in lists) and sorted(i for s in lists for i in s.arg) == owed
    assert len(lists) == -(-len(owed) // tasks.BATCH["parse_snapshot"])
    handed.clear()
    tasks._run("fetch_report", ids)  # a late duplicate: nothing new, the parse still owed is handed on
    assert sorted(i for s in handed if s.step == "parse_snapshot" for i in s.arg) == owed


def test_a_failing_item_keeps_its_error_and_the_rest_of_the_batch_is_done(rt, handed):
    lost = run_losing(rt, {"parse_snapshot"})
    ids = sorted(s.arg for s in lost)
    assert len(ids) >= 3
    victim = ids[1]
    with session_scope(rt.db_url) as session:
        rt.blobs.path(session.get(Snapshot, victim).sha256).unlink()  # its document is gone: reading it fails
    tasks._run("parse_snapshot", ids)
    with session_scope(rt.db_url) as session:
        row = session.get(Snapshot, victim)
        assert row.work_state == "parse" and row.parse_status == "pending" and "FileNotFoundError" in row.last_error
        others = [session.get(Snapshot, i) for i in ids if i != victim]
        assert all(s.work_state == "done" and s.parse_status != "pending" for s in others)
        parsed = sorted(s.id for s in others if s.parse_status == "parsed")
        evaluations = session.exec(select(Evaluation).where(Evaluation.snapshot_id.in_(ids))).all()
        assert parsed and sorted(e.snapshot_id for e in evaluations) == parsed
        assert all(e.work_state == "done" for e in evaluations)  # planned in the same transaction
        pending = sorted(session.exec(select(Notice.id).where(Notice.status == "pending")))
    delivers = [s for s in handed if s.step == "deliver"]
    assert pending and [sorted(s.arg) for s in delivers] == [pending]  # one delivery task for the batch
    tasks._run("deliver", delivers[0].arg)
    tasks._run("deliver", delivers[0].arg)  # a late duplicate sends nothing
    with session_scope(rt.db_url) as session:
        assert {n.status for n in session.exec(select(Notice).where(Notice.id.in_(pending)))} == {"sent"}
        subjects = sorted(n.subject for n in session.exec(select(Notice).where(Notice.id.in_(pending))))
    assert sorted(m["title"] for m in rt.endpoint.received) == subjects


def test_a_list_scored_together_keeps_a_broken_reading_to_itself(rt, handed):
    lost = run_losing(rt, {"evaluate"})
    ids = sorted(s.arg for s in lost)
    assert len(ids) >= 3 and all(s.step == "evaluate" for s in lost)
    with session_scope(rt.db_url) as session:  # the latest year's: no other report reads it as its year before
        victim = max(ids, key=lambda i: (session.get(Report, session.get(Snapshot, i).report_id).year or 0, i))
        row = session.get(Snapshot, victim)
        row.parsed = dict(row.parsed, sections={"封面": {"no such field": 1}})  # a reading that cannot be loaded
        session.add(row)
        session.commit()
    tasks._run("evaluate", ids)
    with session_scope(rt.db_url) as session:
        row = session.get(Snapshot, victim)
        assert row.work_state == "evaluate" and "TypeError" in row.last_error  # still owed, the reason kept
        others = [i for i in ids if i != victim]
        evaluations = session.exec(select(Evaluation).where(Evaluation.snapshot_id.in_(ids))).all()
        assert sorted(e.snapshot_id for e in evaluations) == others
        assert all(session.get(Snapshot, i).work_state == "done" for i in others)
        assert all(e.work_state == "done" for e in evaluations)  # planned in the same transaction
        scored = {e.snapshot_id: (e.score, e.grade, e.failed) for e in evaluations}
    handed.clear()
    tasks._run("evaluate", ids)  # a late duplicate: nothing scored twice, the broken one still fails alone
    with session_scope(rt.db_url) as session:
        evaluations = session.exec(select(Evaluation).where(Evaluation.snapshot_id.in_(ids))).all()
        assert {e.snapshot_id: (e.score, e.grade, e.failed) for e in evaluations} == scored
        assert session.get(Snapshot, victim).work_state == "evaluate"
