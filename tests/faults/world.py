"""A deployment of the distributed engine on loopback, of the fault suite's own: a Redis server
(own port and folder, AOF on or off), PostgreSQL (a schema of its own, its connections named so
they can be cut), the demo's agency portals over HTTP, a real SMTP server (aiosmtpd) receiving
every notice, and Celery worker and beat processes started as an operator would (`nianbao
worker`, `nianbao beat`), each in a process group of its own and kept running by a supervisor
the way compose's `restart: unless-stopped` does. Shared by tests/faults and bench/faults.py.
"""

from __future__ import annotations

import email
import email.header
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from tests.conftest import EXAMPLES, PG_URL, REPO

NIANBAO = str(Path(sys.executable).with_name("nianbao"))
TODAY = "2026-06-30"
OFFICE, ADMINS = "gkb@shifan.example.cn", "admin@shifan.example.cn"
MIGRATING = threading.Lock()  # Alembic's context is global to the process: one migration at a time


class Unavailable(RuntimeError):
    """A service the suite needs (redis-server, PostgreSQL) is not there."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class RedisServer:
    """redis-server on a port and folder of its own; crash() is a SIGKILL, as a host losing power."""

    def __init__(self, folder: Path, aof: bool):
        if not shutil.which("redis-server"):
            raise Unavailable("redis-server is not installed (apt-get install redis-server)")
        self.folder, self.aof, self.port = folder, aof, free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # compose runs `redis-server --appendonly yes` (fsync every second); without it nothing survives.
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--appendonly", "yes" if self.aof else "no", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(self.ping, 10):
            raise Unavailable(f"redis-server did not start on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.exceptions.RedisError:
            return False

    def crash(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def keys(self) -> int:
        import redis

        return redis.Redis(port=self.port).dbsize()


class Mailbox:
    """A real SMTP server on a fixed loopback port; stop() closes the port (connections refused)."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[tuple[str, str, str, float]] = []  # (recipient, subject, text, when)
        self.lock = threading.Lock()
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content)
                subject = str(email.header.make_header(email.header.decode_header(msg["Subject"] or "")))
                text = ""
                for part in msg.walk():
                    if part.get_content_type() == "text/plain":
                        text = part.get_payload(decode=True).decode("utf-8", "replace")
                with mailbox.lock:
                    for rcpt in envelope.rcpt_tos:
                        mailbox.messages.append((rcpt, subject, text, time.time()))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=nianbao@gkb.example.cn&to={to}&name=nianbao"

    def received(self) -> list[tuple[str, str, str, float]]:
        with self.lock:
            return list(self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def message_key(rcpt: str, subject: str) -> tuple[str, str]:
    """What makes two messages the same notice. The digest's subject carries counts that depend
    on when it is written (how far scoring had got), so it is known by its date."""
    if subject.startswith("【年报监测汇总】"):
        subject = subject.split("：", 1)[0]
    return rcpt, subject


class Portals:
    """The demo's six agency portals over HTTP. A gate holds requests for a path until released."""

    def __init__(self, folder: Path):
        from cli.demo import QuietHandler
        from tests.conftest import Server

        shutil.copytree(EXAMPLES / "portals", folder)
        self.root = folder
        self.gates: dict[str, list] = {}  # suffix → [requests to let through first, arrived, release]
        self.lock = threading.Lock()
        portals = self

        class Handler(QuietHandler):
            def do_GET(self):
                for suffix, gate in list(portals.gates.items()):
                    if self.path.endswith(suffix) and not gate[2].is_set():
                        with portals.lock:
                            gate[0] -= 1
                            held = gate[0] < 0
                        if held:
                            gate[1].set()
                            gate[2].wait(60)
                super().do_GET()

        self.server = Server(functools.partial(Handler, directory=str(folder)))

    @property
    def base(self) -> str:
        return self.server.base

    def gate(self, suffix: str, let_through: int = 0) -> tuple[threading.Event, threading.Event]:
        """Hold the requests for a path ending in suffix, after the first let_through, until released."""
        self.gates[suffix] = [let_through, threading.Event(), threading.Event()]
        return self.gates[suffix][1], self.gates[suffix][2]

    def close(self) -> None:
        for _, _, release in self.gates.values():
            release.set()
        self.server.close()


class Database:
    """A PostgreSQL schema of this run's own; its connections carry an application_name, so the
    suite can cut exactly them (pg_terminate_backend) and nobody else's."""

    def __init__(self):
        import sqlalchemy

        tag = uuid.uuid4().hex[:10]
        self.schema, self.app_name = f"nb_fault_{tag}", f"nbfault_{tag}"
        self.admin = sqlalchemy.create_engine(PG_URL, pool_pre_ping=True)
        try:
            with self.admin.begin() as conn:
                conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{self.schema}"'))
        except sqlalchemy.exc.OperationalError as exc:
            raise Unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}") from exc
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}&application_name={self.app_name}"

    def cut(self) -> int:
        """Terminate every connection of this deployment (workers', beat's, ours); how many."""
        import sqlalchemy

        with self.admin.begin() as conn:
            return len(conn.execute(sqlalchemy.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :app AND pid <> pg_backend_pid()"), {"app": self.app_name}).all())

    def drop(self) -> None:
        import sqlalchemy

        from models.db import dispose_engines

        dispose_engines()
        self.cut()
        with self.admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.admin.dispose()


class Process:
    """One nianbao process (worker or beat) in a process group of its own."""

    def __init__(self, name: str, argv: list[str], env: dict, logs: Path):
        self.name, self.argv, self.env, self.logs = name, argv, env, logs
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.supervised = True

    def start(self) -> None:
        self.starts += 1
        log = open(self.logs / f"{self.name}-{self.starts}.log", "w")
        self.proc = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def killpg(self, sig: int = signal.SIGKILL) -> None:
        """The whole group: the main process and its pool children."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        self.supervised = False
        if self.proc is None:
            return
        self.killpg(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.killpg(signal.SIGKILL)  # the pool children too, whatever the main process did
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, chars: int = 3000) -> str:
        text = "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{self.name}-*.log")))
        return text[-chars:]


class World:
    """Everything one scenario runs against; close() ends every process it started."""

    def __init__(self, folder: Path, *, aof: bool = False, faultpoints: tuple[str, ...] = (), workers: int = 1,
                 settings: dict | None = None):
        self.folder = folder
        self.closers: list = []
        try:
            self._build(aof, faultpoints, workers, settings or {})
        except BaseException:
            self.close()
            raise

    def _build(self, aof, faultpoints, workers, settings) -> None:
        import yaml

        from models.db import migrate

        self.redis = RedisServer(self.folder / "redis", aof)
        self.redis.start()
        self.closers.append(self.redis.crash)
        self.db = Database()
        self.closers.append(self.db.drop)
        self.mailbox = Mailbox()
        self.mailbox.start()
        self.closers.append(self.mailbox.stop)
        self.portals = Portals(self.folder / "portals")
        self.closers.append(self.portals.close)
        with MIGRATING:  # as compose's one-shot `migrate` does before the others start
            migrate(self.db.url)

        roster = yaml.safe_load((EXAMPLES / "agencies.yaml").read_text(encoding="utf-8"))
        roster["office"]["notify"] = [self.mailbox.url(OFFICE)]
        roster["office"]["admins"] = [self.mailbox.url(ADMINS)]
        for agency in roster["agencies"]:
            for source in agency["sources"]:
                source["url"] = source["url"].replace("${NIANBAO_DEMO_BASE}", self.portals.base)
            agency["notify"] = [self.mailbox.url(f"{agency['slug']}@agency.example.cn")]
        agencies = self.folder / "agencies.yaml"
        agencies.write_text(yaml.safe_dump(roster, allow_unicode=True, sort_keys=False), encoding="utf-8")
        markers = self.folder / "faultpoints"
        markers.mkdir()
        self.markers = markers
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")},
            "NIANBAO_BROKER_URL": self.redis.url,
            "NIANBAO_DATABASE_URL": self.db.url,
            "NIANBAO_HOME": str(self.folder / "home"),
            "NIANBAO_AGENCIES_FILE": str(agencies),
            "NIANBAO_ALLOW_PRIVATE_HOSTS": "1",
            "NIANBAO_TODAY": TODAY,
            "NIANBAO_FETCH_TIMEOUT": "10",
            "NIANBAO_FAULTPOINTS": ",".join(faultpoints),
            "NIANBAO_FAULTPOINTS_DIR": str(markers),
            # Recovery must not wait for the broker: the visibility timeout stays at its hour.
            "NIANBAO_VISIBILITY_TIMEOUT": "3600",
            # Short leases and a reconciler every 2 s: what takes minutes in production takes seconds here.
            "NIANBAO_RECONCILE_SECONDS": "2",
            "NIANBAO_SENDING_STALE_SECONDS": "8",
            **{f"NIANBAO_LEASE_{step}": "8" for step in ("POLL", "FETCH", "PARSE", "EVALUATE", "PLAN", "DELIVER")},
            **settings,
        }
        (self.folder / "logs").mkdir()
        self.processes = [Process(f"worker{i}", [NIANBAO, "worker", "--concurrency", "2"], self.env,
                                  self.folder / "logs") for i in range(workers)]
        self.beat = Process("beat", [NIANBAO, "beat"], self.env, self.folder / "logs")
        self.processes.append(self.beat)
        self.closers.append(self._stop_processes)
        self._supervising = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    @property
    def workers(self) -> list[Process]:
        return [p for p in self.processes if p is not self.beat]

    def start(self) -> None:
        """Workers first, then beat, whose start begins a full cycle."""
        for proc in self.workers:
            proc.start()
        self.beat.start()
        self._supervisor.start()

    def _supervise(self) -> None:
        # compose's `restart: unless-stopped`: a process that died is started again.
        while not self._supervising.wait(0.5):
            for proc in self.processes:
                if proc.supervised and not proc.alive():
                    proc.killpg()  # pool children left by a main process that died alone
                    proc.start()

    def _stop_processes(self) -> None:
        self._supervising.set()
        if self._supervisor.is_alive():
            self._supervisor.join(5)
        for proc in self.processes:
            proc.stop()

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 - the rest must be closed still
                pass
        self.closers.clear()

    def nianbao(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([NIANBAO, *args], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def fired(self) -> list[str]:
        """Fault points that fired so far."""
        return sorted(p.name for p in self.markers.iterdir())

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)

    # ------------------------------------------------------------------ what the tables say

    def tables(self) -> dict:
        """Counts in the tables: what was done, what still waits, what failed."""
        from sqlalchemy.exc import OperationalError

        from models.db import dispose_engines

        for _ in range(5):
            try:
                return self._tables()
            except OperationalError:  # our own connections are cut too in the PostgreSQL scenario
                dispose_engines()
                time.sleep(0.2)
        return self._tables()

    def _tables(self) -> dict:
        from sqlalchemy import func
        from sqlmodel import select

        from models import Evaluation, Notice, Report, Snapshot
        from models.db import session_scope

        with session_scope(self.db.url) as session:
            def count(model, *where) -> int:
                return session.exec(select(func.count()).select_from(model).where(*where)).one()

            out = {
                "reports": count(Report),
                "discovered": count(Report, Report.status == "discovered"),
                "snapshots": count(Snapshot),
                "unparsed": count(Snapshot, Snapshot.parse_status == "pending"),
                "evaluations": count(Evaluation),
                "notices_waiting": count(Notice, Notice.status.in_(("pending", "sending"))),
                "notices_sent": count(Notice, Notice.status == "sent"),
                "notices_unknown": count(Notice, Notice.status == "unknown"),
                "notices_failed": count(Notice, Notice.status == "failed"),
            }
            # The latest version of every report that could be read, without an evaluation.
            latest = select(Report.latest_snapshot_id).where(Report.latest_snapshot_id != None)  # noqa: E711
            out["unevaluated"] = count(Snapshot, Snapshot.id.in_(latest), Snapshot.parse_status == "parsed",
                                       Snapshot.id.not_in(select(Evaluation.snapshot_id)))
            if hasattr(Snapshot, "work_state"):  # the durable work states (issue 16)
                out["work_waiting"] = (count(Snapshot, Snapshot.work_state.in_(("parse", "evaluate")))
                                       + count(Evaluation, Evaluation.work_state == "plan"))
                out["work_failed"] = (count(Snapshot, Snapshot.work_state == "failed")
                                      + count(Evaluation, Evaluation.work_state == "failed")
                                      + count(Report, Report.status == "failed"))
            return out

    def unknown_notices(self) -> list[tuple[int, str, str]]:
        from sqlalchemy.exc import OperationalError

        from models.db import dispose_engines

        try:
            return self._unknown_notices()
        except OperationalError:
            dispose_engines()
            return self._unknown_notices()

    def _unknown_notices(self) -> list[tuple[int, str, str]]:
        """(id, recipient, subject) of every notice whose outcome is unknown."""
        from sqlmodel import select

        from models import Agency, Notice
        from models.db import session_scope

        with session_scope(self.db.url) as session:
            slugs = {a.id: a.slug for a in session.exec(select(Agency))}
            rcpt = {"office": OFFICE, "admins": ADMINS}
            return [(n.id, rcpt.get(n.audience) or f"{slugs.get(n.agency_id)}@agency.example.cn", n.subject)
                    for n in session.exec(select(Notice).where(Notice.status == "unknown"))]

    def waiting(self) -> int:
        t = self.tables()
        return (t["discovered"] + t["unparsed"] + t["unevaluated"] + t["notices_waiting"]
                + t.get("work_waiting", 0))

    def received(self) -> Counter:
        return Counter(message_key(rcpt, subject) for rcpt, subject, _, _ in self.mailbox.received())
