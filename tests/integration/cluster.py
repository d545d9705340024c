"""The distributed engine as the integration tests run it: agency portals on a local HTTP
server (requests for one path can be held at a gate), Celery worker processes on a Redis broker
under a key prefix of the test's own, and the database the test gives. One place for it, used by
the fixtures of test_celery_redis.py and test_cycle_celery.py."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator

from sqlmodel import select

from cli.demo import QuietHandler
from models import Deficiency, Notice, Report, Snapshot
from models.db import session_scope
from tests.conftest import EXAMPLES, REPO, Server, write_roster

QUEUES = ("fetch", "work", "notify")


class GatedHandler(QuietHandler):
    """Serves the portals; requests for a gated path wait until the test opens the gate."""

    gate_path: str | None = None
    arrived = threading.Event()
    release = threading.Event()

    def do_GET(self):
        if self.gate_path and self.path.endswith(self.gate_path) and not self.release.is_set():
            type(self).arrived.set()
            self.release.wait(30)
        super().do_GET()


def summary(url):
    """What the database holds, to tell when the pipeline has stopped changing it."""
    with session_scope(url) as session:
        return (
            tuple(sorted((r.url, r.year) for r in session.exec(select(Report)))),
            tuple(sorted((s.report_id, s.sha256, s.parse_status) for s in session.exec(select(Snapshot)))),
            tuple(sorted((d.rule_id, d.subject, d.state) for d in session.exec(select(Deficiency)))),
            tuple(sorted((n.dedup_key.split(":")[0], n.audience, n.status) for n in session.exec(select(Notice)))),
        )


class Cluster:
    def __init__(self, env, root, server, handler, endpoint, db_url, redis_url, prefix, tmp_path):
        self.env, self.root, self.server, self.handler = env, root, server, handler
        self.endpoint, self.db_url, self.redis_url, self.prefix = endpoint, db_url, redis_url, prefix
        self.workers: list[subprocess.Popen] = []
        self.others: list[subprocess.Popen] = []  # beat, `nianbao cycle` …: stopped with the workers
        self.logs = tmp_path

    def start_worker(self) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.workers)}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--pool=solo",
             "-Q", ",".join(QUEUES), "--loglevel=INFO", "-n", f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> None:
        for proc in self.others + self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.others + self.workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def client(self):
        from celery import Celery

        app = Celery(broker=self.redis_url)
        app.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        return app

    def send(self, task: str, *args) -> None:
        app = self.client()
        app.send_task(task, args=list(args), queue="work")

    def queue_state(self) -> dict:
        import redis

        r = redis.Redis.from_url(self.redis_url)
        state = {q: r.llen(self.prefix + q) for q in QUEUES}
        state["unacked"] = r.hlen(self.prefix + "unacked")
        return state

    def queues_empty(self) -> bool:
        return not any(self.queue_state().values())

    def flush(self) -> None:
        import redis

        r = redis.Redis.from_url(self.redis_url)
        for key in r.scan_iter(match=self.prefix + "*"):
            r.delete(key)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the queues are empty and the database has stopped changing."""
        deadline = time.monotonic() + timeout
        last, stable_since = None, time.monotonic()
        while time.monotonic() < deadline:
            state = (self.queues_empty(), summary(self.db_url))
            if state != last:
                last, stable_since = state, time.monotonic()
            elif state[0] and time.monotonic() - stable_since > 2.0:
                return
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-3000:] for p in sorted(self.logs.glob("worker-*.log")))
        import redis

        keys = sorted(k.decode() for k in redis.Redis.from_url(self.redis_url).scan_iter(match=self.prefix + "*"))
        raise AssertionError(f"pipeline did not settle in {timeout}s: {self.queue_state()} keys={keys}\n{logs[-4000:]}")


@contextmanager
def running_cluster(tmp_path: Path, db_url: str, redis_url: str, endpoint, slugs: list[str],
                    base_env: dict[str, str], **extra_env: str) -> Iterator[Cluster]:
    """Portals of ``slugs`` served over HTTP, a roster naming them, the environment the worker
    processes get (``base_env`` plus the engine's settings plus ``extra_env``); on leaving, every
    process the test started is stopped and the broker keys of the run are deleted."""
    root = tmp_path / "portals"
    for slug in slugs:
        shutil.copytree(EXAMPLES / "portals" / slug, root / slug)
    handler = type("Handler", (GatedHandler,), {"arrived": threading.Event(), "release": threading.Event()})
    server = Server(partial(handler, directory=str(root)))
    prefix = f"nbtest-{uuid.uuid4().hex[:8]}:"
    env = {
        **base_env,
        "NIANBAO_BROKER_URL": redis_url,
        "NIANBAO_DATABASE_URL": db_url,
        "NIANBAO_HOME": str(tmp_path / "home"),
        "NIANBAO_AGENCIES_FILE": str(write_roster(tmp_path / "agencies.yaml", server.base, endpoint, slugs)),
        "NIANBAO_ALLOW_PRIVATE_HOSTS": "1",
        "NIANBAO_TODAY": "2026-06-30",
        "NIANBAO_BROKER_KEY_PREFIX": prefix,
        **extra_env,
    }
    c = Cluster(env, root, server, handler, endpoint, db_url, redis_url, prefix, tmp_path)
    try:
        yield c
    finally:
        c.stop_workers()
        server.close()
        c.flush()
