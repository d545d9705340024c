"""A poll cycle on the distributed engine for real: Redis broker, Celery worker processes, PostgreSQL,
a local site with 30 agencies of which 10 published a new report. Each new report is found and
fetched exactly once, also when the worker is killed mid-cycle and another takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlmodel import select

from models import PollEvent, Report, Snapshot, Source
from models.db import session_scope
from tests.conftest import REPO, _drop_schema, _postgres_schema_url
from tests.polling.conftest import Page, agency, write_agencies

pytestmark = pytest.mark.integration
N, NEW, GATED = 30, 10, 7


@pytest.fixture
def pg_url():
    from models.db import dispose_engines, migrate

    url, schema = _postgres_schema_url()
    migrate(url)
    yield url
    dispose_engines()
    _drop_schema(schema)


def has_new(i: int) -> bool:
    return i % 3 == 0


class Cluster:
    def __init__(self, tmp_path, site, db_url, redis_url):
        self.tmp, self.site, self.db_url, self.redis_url = tmp_path, site, db_url, redis_url
        self.prefix = f"nbpoll-{uuid.uuid4().hex[:8]}:"
        agencies_file = tmp_path / "agencies.yaml"
        write_agencies(agencies_file, [agency(f"a{i:02d}", f"{site.base}/a{i:02d}/") for i in range(N)])
        self.env = {**os.environ, "NIANBAO_BROKER_URL": redis_url, "NIANBAO_DATABASE_URL": db_url,
                    "NIANBAO_HOME": str(tmp_path / "home"), "NIANBAO_AGENCIES_FILE": str(agencies_file),
                    "NIANBAO_ALLOW_PRIVATE_HOSTS": "1", "NIANBAO_TODAY": "2026-02-03",
                    "NIANBAO_VISIBILITY_TIMEOUT": "4", "NIANBAO_BROKER_KEY_PREFIX": self.prefix,
                    "NIANBAO_POLL_BATCH_SIZE": "5", "NIANBAO_FETCH_RETRIES": "0", "NIANBAO_POLL_HOST_RATE": "0",
                    "NIANBAO_POLL_PER_HOST": "8"}
        self.workers: list[subprocess.Popen] = []

    def start_worker(self) -> subprocess.Popen:
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--pool=solo",
                                 "-Q", "fetch", "--loglevel=INFO", "-n", f"p{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h"],
                                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def send(self, task: str, *args) -> None:
        from celery import Celery

        app = Celery(broker=self.redis_url)
        app.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        app.send_task(task, args=list(args), queue="fetch")

    def busy(self) -> bool:
        import redis

        r = redis.Redis.from_url(self.redis_url)
        return bool(r.llen(self.prefix + "fetch") or r.hlen(self.prefix + "unacked"))

    def settle(self, timeout: float = 90) -> None:
        deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
        while time.monotonic() < deadline:
            state = (self.busy(), state_of(self.db_url))
            if state != last:
                last, since = state, time.monotonic()
            elif not state[0] and time.monotonic() - since > 2:
                return
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-2000:] for p in sorted(self.tmp.glob("worker-*.log")))
        raise AssertionError(f"did not settle in {timeout}s\n{logs}")

    def close(self) -> None:
        import redis

        for p in self.workers:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.workers:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        r = redis.Redis.from_url(self.redis_url)
        for key in r.scan_iter(match=self.prefix + "*"):
            r.delete(key)


def state_of(url):
    with session_scope(url) as session:
        return (tuple(sorted((r.url, r.status) for r in session.exec(select(Report)))),
                tuple(sorted((s.report_id, s.sha256) for s in session.exec(select(Snapshot)))),
                tuple(sorted((s.id, s.status) for s in session.exec(select(Source)))))


@pytest.fixture
def cluster(tmp_path, site, pg_url, redis_url):
    arrived, release = threading.Event(), threading.Event()
    for i in range(N):
        items = [f'<li><a href="/files/a{i:02d}-2024.pdf">第{i}局2024年政府信息公开工作年度报告</a>2025-01-20</li>']
        if has_new(i):
            items.insert(0, f'<li><a href="art{i}.html">第{i}局2025年政府信息公开工作年度报告</a>2026-01-28</li>')
            site.html(f"/a{i:02d}/art{i}.html", f'<h1>第{i}局2025年政府信息公开工作年度报告</h1><p>发布时间：2026-01-28</p>'
                                                f'<a href="/files/a{i:02d}-2025.pdf">附件：年报全文</a>')
            site.pages[f"/files/a{i:02d}-2025.pdf"] = Page(f"%PDF-1.4 report {i} 2025".encode(), etag='"r"')
        site.pages[f"/files/a{i:02d}-2024.pdf"] = Page(f"%PDF-1.4 report {i} 2024".encode(), etag='"r"')
        site.html(f"/a{i:02d}/", "<ul>" + "".join(items) + "</ul>", etag=f'"l{i}"')
    gated = site.pages[f"/a{GATED:02d}/"]

    def gate():
        if not release.is_set():
            arrived.set()
            release.wait(30)
        return gated

    site.pages[f"/a{GATED:02d}/"] = gate
    c = Cluster(tmp_path, site, pg_url, redis_url)
    c.arrived, c.release = arrived, release
    yield c
    release.set()
    c.close()


def test_a_poll_cycle_finds_each_new_report_once_even_when_a_worker_dies(cluster, site):
    victim = cluster.start_worker()
    cluster.send("nianbao.poll_due")
    assert cluster.arrived.wait(30), "no worker reached the gated listing"
    victim.send_signal(signal.SIGKILL)  # dies holding an unacked poll batch
    victim.wait(10)
    cluster.release.set()
    cluster.start_worker()  # takes the batch over once the visibility timeout (4 s) has passed
    cluster.settle()

    with session_scope(cluster.db_url) as session:
        reports = session.exec(select(Report)).all()
        snapshots = session.exec(select(Snapshot)).all()
        sources = session.exec(select(Source)).all()
        event_keys = [e.dedup_key for e in session.exec(select(PollEvent))]
    new = sorted(r.url.rsplit("/", 1)[-1] for r in reports if r.year == 2025)
    assert new == [f"a{i:02d}-2025.pdf" for i in range(N) if has_new(i)]
    assert len(reports) == N + NEW and len({(r.agency_id, r.url) for r in reports}) == len(reports)
    assert all(r.status == "fetched" for r in reports) and all(r.via == "attachment" for r in reports if r.year == 2025)
    assert sorted(s.report_id for s in snapshots) == sorted(r.id for r in reports)  # one snapshot each
    assert all(s.status == "ok" and s.etag for s in sources)
    assert len(event_keys) == len(set(event_keys))

    # Another cycle over every source: 304s, nothing new; the articles are not followed again.
    article_hits = sum(site.hits(f"/a{i:02d}/art{i}.html") for i in range(N) if has_new(i))
    before = state_of(cluster.db_url)
    with session_scope(cluster.db_url) as session:
        ids = [s.id for s in session.exec(select(Source))]
    for i in range(0, len(ids), 5):
        cluster.send("nianbao.poll_batch", {"ids": ids[i:i + 5], "force": False})
    cluster.settle()
    after = state_of(cluster.db_url)
    assert after[:2] == before[:2]
    assert sum(site.hits(f"/a{i:02d}/art{i}.html") for i in range(N) if has_new(i)) == article_hits
