"""The fault scenarios of issue 16, shared by tests/faults and bench/faults.py.

Each runs one full cycle of the distributed engine (World: Redis, PostgreSQL, Celery worker and
beat, the demo's portals, a real SMTP server), injects its fault mid-cycle, and then only
watches: no manual step. The expected notices are those a clean cycle of the embedded engine
sends over the same portals (the reference); a scenario has recovered when the SMTP server has
received every one of them, the tables hold every report read and scored as in the reference,
and nothing waits. It is then watched a few seconds more for late duplicates.

A notice handed to SMTP by a worker that died before recording the answer is the one intended
exception: its outcome is unknown, so it is not sent again; the admins get a notice naming it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.faults.world import ADMINS, MIGRATING, NIANBAO, OFFICE, REPO, Mailbox, Portals, TODAY, World, message_key, wait_until

HANDON = tuple(f"after_commit:{step}" for step in ("fetch_report", "parse_snapshot", "evaluate", "plan_notices"))
TABLE_KEYS = ("reports", "snapshots", "evaluations")  # compared with the reference's


class NotReached(RuntimeError):
    """The cycle never came to the point where the fault was to be injected."""


def need(ok: bool, what: str) -> None:
    if not ok:
        raise NotReached(what)


@dataclass
class Options:
    smtp_down: float = 60.0  # seconds the SMTP endpoint is down (the 60 s; shorter in tests)
    bound: float = 150.0  # seconds after the fault by which everything must be recovered
    grace: float = 4.0  # seconds watched after recovery for late duplicates


@dataclass
class Scenario:
    name: str
    title: str
    inject: Callable[[World, Options], float]  # blocks until injected; returns the (last) fault's time
    aof: bool = False
    faultpoints: tuple[str, ...] = ()
    workers: int = 1
    unknown: int = 0  # at least this many notices of truly unknown outcome (killed between SMTP and recording)


@dataclass
class Outcome:
    scenario: str
    expected: int = 0
    received: int = 0
    duplicated: int = 0
    lost: int = 0
    seconds: float | None = None  # from the fault until everything was recovered; None: never
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.lost and not self.duplicated and self.seconds is not None


# ---------------------------------------------------------------- the reference: a clean cycle

_reference: dict | None = None


def reference() -> dict:
    """What one clean cycle sends (message keys, counted) and stores, by the embedded engine on
    SQLite over the same portals and roster shape. Computed once per process."""
    global _reference
    if _reference is None:
        with tempfile.TemporaryDirectory(prefix="nbfault-ref-") as tmp:
            _reference = _clean_cycle(Path(tmp))
    return _reference


def _clean_cycle(folder: Path) -> dict:
    import yaml

    from models.db import dispose_engines, migrate
    from tests.conftest import EXAMPLES, make_runtime
    from worker.runner import run_cycle

    mailbox, portals = Mailbox(), Portals(folder / "portals")
    mailbox.start()
    try:
        roster = yaml.safe_load((EXAMPLES / "agencies.yaml").read_text(encoding="utf-8"))
        roster["office"]["notify"], roster["office"]["admins"] = [mailbox.url(OFFICE)], [mailbox.url(ADMINS)]
        for agency in roster["agencies"]:
            for source in agency["sources"]:
                source["url"] = source["url"].replace("${NIANBAO_DEMO_BASE}", portals.base)
            agency["notify"] = [mailbox.url(f"{agency['slug']}@agency.example.cn")]
        agencies = folder / "agencies.yaml"
        agencies.write_text(yaml.safe_dump(roster, allow_unicode=True, sort_keys=False), encoding="utf-8")
        url = f"sqlite:///{folder / 'nianbao.db'}"
        with MIGRATING:
            migrate(url)
        from datetime import date

        run_cycle(make_runtime(folder, url, agencies, date.fromisoformat(TODAY)))
        world = World.__new__(World)  # only to read the tables the same way
        world.db = type("Db", (), {"url": url})()
        tables = world.tables()
        dispose_engines()
        return {"messages": Counter(message_key(r, s) for r, s, _, _ in mailbox.received()),
                "tables": {k: tables[k] for k in TABLE_KEYS}}
    finally:
        mailbox.stop()
        portals.close()


# ---------------------------------------------------------------- the faults

def kill_worker(world: World, options: Options) -> float:
    """SIGKILL the worker's whole process group while it fetches a report (the poll reads the
    report's page first, fetch_report reads it again); the supervisor restarts it."""
    arrived, release = world.portals.gate("/qinghe-fgj/nb2025.html", let_through=1)
    need(arrived.wait(120), "no worker fetched qinghe-fgj's 2025 report")
    world.workers[0].killpg()
    at = time.time()
    release.set()
    return at


def restart_redis(world: World, options: Options) -> float:
    """SIGKILL Redis once some reports are stored and others not; start it again on the same port."""
    need(wait_until(lambda: world.tables()["snapshots"] >= 4, 120, 0.1), "fewer than 4 reports were stored")
    world.redis.crash()
    at = time.time()
    world.redis.start()
    return at


def smtp_down(world: World, options: Options) -> float:
    """The SMTP server goes away once the first notice has arrived, for options.smtp_down seconds."""
    need(wait_until(lambda: world.mailbox.count() >= 1, 150, 0.05), "no notice was ever delivered")
    world.mailbox.stop()
    at = time.time()
    time.sleep(options.smtp_down)
    world.mailbox.start()
    return at


def cycle_twice(world: World, options: Options) -> float:
    """Two `nianbao cycle --all` at once, while beat's own first cycle runs."""
    runs = [subprocess.Popen([NIANBAO, "cycle", "--all", "--no-wait"], cwd=REPO, env=world.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    at = time.time()
    for run in runs:
        out, _ = run.communicate(timeout=120)
        need(run.returncode == 0, f"nianbao cycle failed ({run.returncode}): {out[-500:]}")
    return at


def cut_postgres(world: World, options: Options) -> float:
    """Every connection of the deployment cut, repeatedly for 3 s, while documents are read and
    again while notices are delivered."""
    def burst() -> None:
        end = time.time() + 3
        while time.time() < end:
            world.db.cut()
            time.sleep(0.25)

    need(wait_until(lambda: world.tables()["snapshots"] >= 1, 120, 0.1), "no report was ever stored")
    burst()
    need(wait_until(lambda: world.mailbox.count() >= 1, 150, 0.05), "no notice was ever delivered")
    burst()
    return time.time()


def restart_beat(world: World, options: Options) -> float:
    """SIGKILL beat mid-cycle; the supervisor starts it again (which starts another cycle)."""
    need(wait_until(lambda: world.tables()["snapshots"] >= 2, 120, 0.1), "fewer than 2 reports were stored")
    world.beat.killpg()
    return time.time()


def armed_points(world: World, options: Options) -> float:
    """The armed fault points kill the worker by themselves; wait until each has fired."""
    armed = sorted(p.replace(":", "_") for p in world.env["NIANBAO_FAULTPOINTS"].split(","))
    need(wait_until(lambda: world.fired() == armed, 150, 0.1),
         f"fault points fired: {world.fired()} of {armed}")
    return max(p.stat().st_mtime for p in world.markers.iterdir())


SCENARIOS = [
    Scenario("worker-kill", "worker SIGKILLed (process group)", kill_worker),
    Scenario("redis-restart", "Redis restarted, no persistence", restart_redis),
    Scenario("redis-aof", "Redis restarted, AOF on", restart_redis, aof=True),
    Scenario("smtp-down", "SMTP down during delivery", smtp_down),
    Scenario("cycle-twice", "same cycle started twice at once", cycle_twice, workers=2),
    Scenario("postgres-cut", "PostgreSQL connections cut", cut_postgres),
    Scenario("beat-restart", "beat restarted", restart_beat),
    Scenario("killed-after-commit", "killed after commit, before hand-on", armed_points, faultpoints=HANDON),
    Scenario("killed-after-send", "killed after SMTP handoff", armed_points, faultpoints=("after_send",), unknown=1),
]
BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------- running them

def run_all(chosen: list[Scenario], folder_for: Callable[[Scenario], Path], options: Options | None = None,
            parallel: int = 1) -> dict[str, tuple[Outcome | None, World | None, BaseException | None]]:
    """Run scenarios, `parallel` at a time (each World has its own ports, schema and processes);
    by name: (outcome, world, the exception that stopped it)."""
    from concurrent.futures import ThreadPoolExecutor

    reference()  # once, before the threads

    def one(scenario: Scenario):
        try:
            return (*run(scenario, folder_for(scenario), options), None)
        except Exception as exc:  # noqa: BLE001 - reported with the scenario (a service missing, a bug here)
            return None, None, exc

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        return dict(zip((s.name for s in chosen), pool.map(one, chosen)))


def run(scenario: Scenario, folder: Path, options: Options | None = None) -> tuple[Outcome, World]:
    """Run a scenario to its end (recovered, or the bound passed); the World is closed already
    and returned for its logs."""
    options = options or Options()
    ref = reference()
    world = World(folder, aof=scenario.aof, faultpoints=scenario.faultpoints, workers=scenario.workers)
    outcome = Outcome(scenario.name)
    try:
        world.start()
        try:
            fault_at = scenario.inject(world, options)
        except NotReached as exc:
            outcome.problems.append(f"fault not injected: {exc}")
            fault_at = time.time()
        recovered_at = None
        deadline = fault_at + options.bound
        while time.time() < deadline:
            done, _ = _compare(world, ref, scenario, outcome)
            if done:
                recovered_at = recovered_at or time.time()
                if time.time() - recovered_at >= options.grace:
                    break
            else:
                recovered_at = None
            time.sleep(0.5)
        done, problems = _compare(world, ref, scenario, outcome)
        outcome.problems += problems
        if recovered_at is not None and done:
            outcome.seconds = round(max(0.0, recovered_at - fault_at), 1)
        else:
            outcome.problems.append(f"not recovered within {options.bound:.0f} s of the fault")
    finally:
        world.close()
    return outcome, world


def _compare(world: World, ref: dict, scenario: Scenario, outcome: Outcome) -> tuple[bool, list[str]]:
    """Fill in the counts; (everything recovered, what is wrong)."""
    received = world.received()
    expected = Counter(ref["messages"])
    problems: list[str] = []
    # A notice of unknown outcome (its worker's process group was killed while it was with SMTP:
    # the one at the armed point, and any other in flight) may have arrived once or not at all, and
    # is owed one admin notice naming it (its subject, in the admin notice's subject or text).
    unknown = world.unknown_notices()
    mails = world.mailbox.received()
    for notice_id, rcpt, subject in unknown:
        key = message_key(rcpt, subject)
        if expected[key] and received[key] <= expected[key]:
            expected[key] = received[key]  # at most once: whether it arrived, only the recipient knows
        told = Counter(message_key(r, s) for r, s, text, _ in mails
                       if r == ADMINS and (subject in s or subject in text) and message_key(r, s) not in expected)
        if told:
            expected.update({k: 1 for k in told})
        else:
            expected[(ADMINS, f"(an admin notice naming unknown notice {notice_id})")] += 1
    expected = +expected
    if len(unknown) < scenario.unknown:
        problems.append(f"{len(unknown)} notices of unknown outcome, at least {scenario.unknown} expected")
    outcome.expected = sum(expected.values())
    outcome.received = sum(received.values())
    outcome.lost = sum((expected - received).values())
    outcome.duplicated = sum((received - expected).values())
    tables = world.tables()
    for key in TABLE_KEYS:
        if tables[key] != ref["tables"][key]:
            problems.append(f"{key}: {tables[key]} in the tables, {ref['tables'][key]} in a clean cycle")
    waiting = {k: tables[k] for k in ("discovered", "unparsed", "unevaluated", "notices_waiting", "work_waiting")
               if tables.get(k)}
    if waiting:
        problems.append(f"left waiting: {waiting}")
    failed = {k: tables[k] for k in ("notices_failed", "work_failed") if tables.get(k)}
    if failed:
        problems.append(f"failed: {failed}")
    if outcome.lost:
        problems.append(f"lost: {sorted((expected - received).elements())}")
    if outcome.duplicated:
        problems.append(f"duplicated: {sorted((received - expected).elements())}")
    done = not problems
    return done, problems
