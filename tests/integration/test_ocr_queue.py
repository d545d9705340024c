"""Scans go to their own queue: a real Redis broker and real Celery workers. A worker of the
ordinary queues reads a scan as needs_ocr and hands it to the ``ocr`` queue, where it waits
for a worker of that queue (other reports never wait behind it); an ocr worker reads it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from models import Agency, Report, Snapshot
from models.db import session_scope
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def _title_picture() -> bytes:
    """The top of a report's first page, as a PNG (cut from the scan corpus's long JPEG)."""
    from PIL import Image

    image = Image.open(REPO / "tests" / "fixtures" / "scans" / "s12-huxi-2022-200-long.jpg")
    buf = io.BytesIO()
    image.crop((0, 0, image.width, image.width // 2)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def broker(redis_url):
    import redis

    prefix = f"nbtest-{uuid.uuid4().hex[:8]}:"
    yield redis_url, prefix
    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(match=prefix + "*"):
        r.delete(key)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # OCR costs the same on either database
def test_scans_wait_on_the_ocr_queue_for_an_ocr_worker(tmp_path, db_url, broker):
    from config.settings import Settings
    from worker.runtime import Runtime
    import redis

    url, prefix = broker
    env = {**os.environ, "NIANBAO_BROKER_URL": url, "NIANBAO_BROKER_KEY_PREFIX": prefix,
           "NIANBAO_DATABASE_URL": db_url, "NIANBAO_HOME": str(tmp_path / "home"), "NIANBAO_TODAY": "2023-06-30"}
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url))
    sha = rt.blobs.put(_title_picture())
    with session_scope(db_url) as session:
        agency = Agency(slug="huxi", name="湖西区人民政府", level="government")
        session.add(agency)
        session.flush()
        report = Report(agency_id=agency.id, url="https://huxi.example.gov.cn/nb2022.png", via="attachment",
                        confidence=1.0, year=2022, title="", status="fetched")
        session.add(report)
        session.flush()
        snapshot = Snapshot(report_id=report.id, sha256=sha, content_type="image/png", size=0, fetched_at=rt.now())
        session.add(snapshot)
        session.commit()
        snapshot_id = snapshot.id

    workers: list[subprocess.Popen] = []

    def start(queues: str) -> None:
        log = open(tmp_path / f"worker-{queues}.log", "w")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--pool=solo", "-Q", queues,
             "--loglevel=INFO", "-n", f"{queues.replace(',', '-')}-{uuid.uuid4().hex[:6]}@%h"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))

    def status() -> str:
        with session_scope(db_url) as session:
            return session.get(Snapshot, snapshot_id).parse_status

    def wait(condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-2000:] for p in tmp_path.glob("worker-*.log"))
        assert condition(), f"still {status()}\n{logs}"

    r = redis.Redis.from_url(url)
    try:
        start("fetch,work,notify")
        from celery import Celery

        client = Celery(broker=url)
        client.conf.broker_transport_options = {"global_keyprefix": prefix}
        client.send_task("nianbao.parse_snapshot", args=[snapshot_id], queue="work")
        wait(lambda: status() == "needs_ocr" and r.llen(prefix + "ocr") == 1, 60)
        time.sleep(2)
        assert status() == "needs_ocr" and r.llen(prefix + "ocr") == 1  # the ordinary worker leaves it
        start("ocr")
        wait(lambda: status() == "parsed", 180)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    with session_scope(db_url) as session:
        parsed = session.get(Snapshot, snapshot_id).parsed
    assert parsed["meta"]["format"] == "image" and parsed["meta"]["source"] == "ocr"
    assert parsed["meta"]["title"] == "湖西区人民政府2022年政府信息公开工作年度报告" and parsed["meta"]["year"] == 2022
