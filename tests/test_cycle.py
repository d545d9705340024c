"""`nianbao cycle` on the embedded engine, as a user runs it: real portals over HTTP, a real
notification endpoint, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlmodel import select

from models import Health
from models.db import session_scope
from tests.conftest import REPO, write_roster


def nianbao_cycle(env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    return subprocess.run([sys.executable, "-m", "cli.main", "cycle", *args], capture_output=True, text=True,
                          cwd=REPO, env={**base, **env, "COLUMNS": "200"}, timeout=300)


def test_cycle_polls_checks_deadlines_and_delivers_at_once(tmp_path, db_url, portals, endpoint):
    env = {"NIANBAO_DATABASE_URL": db_url, "NIANBAO_HOME": str(tmp_path / "home"), "NIANBAO_TODAY": "2026-06-30",
           "NIANBAO_AGENCIES_FILE": str(write_roster(tmp_path / "agencies.yaml", portals.base, endpoint)),
           "NIANBAO_ALLOW_PRIVATE_HOSTS": "1"}
    run = nianbao_cycle(env)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "开始巡检（本进程内执行）" in out and "进度：" in out
    assert "巡检完成" in out and "轮询来源 6 个" in out and "新发现年报" in out and "通知：已发送 10 条" in out, out
    # The deadline check ran in the same cycle, after the polls: the agency without a 2025 report is
    # told so (not the next morning), the others are not.
    sthj = endpoint.to("qinghe-sthj")
    assert len(sthj) == 1 and "催报" in sthj[0]["title"], sthj
    assert len(endpoint.to("qinghe-fgj")) == 1
    with session_scope(db_url) as session:
        recorded = session.get(Health, "cycle")
    assert recorded.ok and recorded.message == "轮询6个来源"

    # Again at once: nothing is due, nothing is said twice; --all polls every source again.
    received = len(endpoint.received)
    again = nianbao_cycle(env)
    assert again.returncode == 0 and "轮询来源 0 个" in again.stdout and "通知：无" in again.stdout, again.stdout
    forced = nianbao_cycle(env, "--all")
    assert forced.returncode == 0 and "轮询来源 6 个" in forced.stdout and "新发现年报 0 份" in forced.stdout
    assert len(endpoint.received) == received
    for said in (run.stdout, again.stdout, forced.stdout):
        assert not plain_chinese_offences(said), plain_chinese_offences(said)


def plain_chinese_offences(text: str) -> list[str]:
    import re

    from tests.web.test_plain_chinese import offences

    return offences(re.sub(r"\b[a-z]+(?:-[a-z]+)+\b", " ", text), "nianbao cycle")  # slugs are typed back


def test_a_cycle_whose_finish_message_was_lost_is_finished_from_its_row(rt):
    """A distributed cycle is also a row: if its cycle_finish message is lost (a killed worker held
    it, Redis restarted) and its polls were lost too, the reconciler polls the sources again (they
    are still owed, worker/polls.py), waits for them, then finishes the cycle itself."""
    from collections import deque
    from datetime import timedelta

    from sqlalchemy import update

    from models import Source
    from models.types import utcnow
    from worker import cycle as cycles
    from worker.reconciler import reconcile
    from worker.runner import CycleReport, drain

    begun = cycles.start(rt, all_sources=True)
    cycles.hold(rt, begun, True)
    assert cycles.overdue(rt) == []  # heard of just now: left to its own cycle_finish
    old = utcnow() - cycles.lease(rt) - timedelta(seconds=1)

    def unheard() -> None:
        with session_scope(rt.db_url) as session:
            session.execute(update(Health).where(Health.component.startswith(cycles.OPEN)).values(checked_at=old))
            session.execute(update(Source).values(poll_claimed_at=old))
            session.commit()

    unheard()
    assert cycles.overdue(rt) == []  # its polls are owed still: it waits for them
    again = [s for s in reconcile(rt).steps if s.step == "poll_batch"]  # the lost polls, handed out again
    assert sorted(i for s in again for i in s.arg["ids"]) == sorted(begun.source_ids)
    drain(rt, deque(again), CycleReport())
    unheard()
    steps = cycles.overdue(rt)  # polled now: the rest of the cycle, here
    drain(rt, deque(steps), CycleReport())
    sthj = rt.endpoint.to("qinghe-sthj")
    assert len(sthj) == 1 and "催报" in sthj[0]["title"]  # the deadline check ran
    with session_scope(rt.db_url) as session:
        assert cycles.open_cycles(session) == [] and session.get(Health, "cycle").ok
    assert cycles.overdue(rt) == []


def _polls_only(rt, polls) -> list:
    """Run a cycle's polls and nothing after them: what they hand on is returned, not run."""
    from worker import pipeline

    return [nxt for step in polls for nxt in pipeline.run_step(rt, step.step, step.arg)]


def test_two_cycles_at_once_are_each_finished_even_when_the_second_ones_finish_is_lost(rt):
    """Each distributed cycle is a row of its own: the first cycle's finish does not close the
    second's, so the reconciler finishes the second when its cycle_finish message was lost."""
    from collections import deque
    from datetime import timedelta

    from sqlalchemy import update

    from models.types import utcnow
    from worker import cycle as cycles
    from worker.runner import CycleReport, drain

    first_begun = cycles.start(rt, all_sources=True)
    first = cycles.hold(rt, first_begun, True)
    second_begun = cycles.start(rt, all_sources=True)
    second = cycles.hold(rt, second_begun, True)
    assert first["id"] != second["id"]
    handed = _polls_only(rt, first_begun.polls + second_begun.polls)
    assert cycles.settle(rt, first) is not None  # the first cycle's cycle_finish: polled, so it finishes
    with session_scope(rt.db_url) as session:
        assert [row.component for row in cycles.open_cycles(session)] == [cycles.OPEN + second["id"]]
        finished_first = session.get(Health, "cycle").checked_at
    assert cycles.overdue(rt) == []  # the second was heard of a moment ago
    with session_scope(rt.db_url) as session:  # … and then never again: its message was lost
        session.execute(update(Health).where(Health.component.startswith(cycles.OPEN))
                        .values(checked_at=utcnow() - cycles.lease(rt) - timedelta(seconds=1)))
        session.commit()
    steps = cycles.overdue(rt)
    with session_scope(rt.db_url) as session:
        assert cycles.open_cycles(session) == []
        assert session.get(Health, "cycle").checked_at > finished_first  # finished by the reconciler
    drain(rt, deque(handed + steps), CycleReport())
    assert cycles.overdue(rt) == []


def test_the_digest_waits_for_the_work_of_the_cycle_before_it(rt):
    """A distributed cycle finishes once its polls are done, while the reports they found are still
    fetched, read and scored: the digest is owed until that work has settled, then the reconciler
    sends it, with every score."""
    import csv
    import io
    from collections import deque

    from models import Digest, Notice
    from worker.status import agency_statuses
    from worker import cycle as cycles
    from worker.digest import owed_digest
    from worker.reconciler import reconcile
    from worker.runner import CycleReport, drain

    begun = cycles.start(rt, all_sources=True)
    state = cycles.hold(rt, begun, True)
    handed = _polls_only(rt, begun.polls)  # the fetches the polls handed on are still queued
    assert handed and all(s.step == "fetch_report" for s in handed)
    steps = cycles.settle(rt, state)
    with session_scope(rt.db_url) as session:
        assert session.exec(select(Digest)).all() == []  # not built over unfetched reports
    assert cycles.waiting(rt)["digest"] == 1 and owed_digest(rt) == []
    # `nianbao cycle` says the digest is owed, what it waits for and the latest time it goes out.
    from cli.cycle_cmd import console, digest_line

    with console.capture() as said:
        digest_line(rt)
    line = said.get().replace("\n", "")
    assert "监测汇总已到期，等待剩余工作完成后发送（待抓取年报" in line and "最迟于 " in line, line
    assert not plain_chinese_offences(line), plain_chinese_offences(line)
    drain(rt, deque(handed + steps), CycleReport())  # fetched, read, scored, planned, delivered
    with session_scope(rt.db_url) as session:
        assert session.exec(select(Digest)).all() == []  # the reconciler's part
    drain(rt, deque(reconcile(rt).steps), CycleReport())  # settled: the reconciler sends the digest
    assert cycles.waiting(rt)["digest"] == 0
    with console.capture() as said:
        digest_line(rt)
    assert said.get() == ""  # sent: nothing owed to say
    with session_scope(rt.db_url) as session:
        digest = session.get(Notice, session.exec(select(Digest)).one().notice_id)
        scored = sum(1 for row in agency_statuses(session, rt.today()) if row.score is not None)
    rows = list(csv.DictReader(io.StringIO(digest.attachment)))
    assert scored and sum(1 for r in rows if r["得分"]) == scored
    assert digest.status == "sent"
