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
    it, Redis restarted), the reconciler re-polls what it claimed and was not polled, then finishes it."""
    from collections import deque
    from datetime import timedelta

    from sqlalchemy import update

    from models.types import utcnow
    from worker import cycle as cycles
    from worker.runner import CycleReport, drain

    begun = cycles.start(rt, all_sources=True)
    cycles.hold(rt, begun, True)
    assert cycles.overdue(rt) == []  # heard of just now: left to its own cycle_finish
    old = utcnow() - cycles.lease(rt) - timedelta(seconds=1)
    with session_scope(rt.db_url) as session:
        session.execute(update(Health).where(Health.component == cycles.OPEN).values(checked_at=old))
        session.commit()
    again = cycles.overdue(rt)  # the polls were lost with the messages: handed out again, once a lease
    assert [s.step for s in again] == ["poll_batch"] and sorted(again[0].arg["ids"]) == sorted(begun.source_ids)
    assert cycles.overdue(rt) == []
    drain(rt, deque(again), CycleReport())
    with session_scope(rt.db_url) as session:
        session.execute(update(Health).where(Health.component == cycles.OPEN).values(checked_at=old))
        session.commit()
    steps = cycles.overdue(rt)  # polled now: the rest of the cycle, here
    drain(rt, deque(steps), CycleReport())
    sthj = rt.endpoint.to("qinghe-sthj")
    assert len(sthj) == 1 and "催报" in sthj[0]["title"]  # the deadline check ran
    with session_scope(rt.db_url) as session:
        assert session.get(Health, cycles.OPEN) is None and session.get(Health, "cycle").ok
    assert cycles.overdue(rt) == []
