"""A scriptable agency site on a real loopback HTTP server, and a runtime polling it."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler

import pytest
import yaml

from tests.conftest import Server, make_runtime


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # before answering
    drip: float = 0.0  # seconds between bytes of the body
    etag: str | None = None  # answer 304 to If-None-Match with it
    last_modified: str | None = None  # answer 304 to If-Modified-Since with it


class Site:
    """pages: path → Page (or a callable returning one). Records every request; `down` answers 503."""

    def __init__(self):
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, dict]] = []
        self.down = False
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with site.lock:
                    site.requests.append((self.path, dict(self.headers)))
                    site.active += 1
                    site.max_active = max(site.max_active, site.active)
                try:
                    self._answer()
                finally:
                    with site.lock:
                        site.active -= 1

            def _answer(self):
                page = site.pages.get(self.path.split("?")[0])
                if callable(page):
                    page = page()
                if site.down:
                    page = Page(b"down", 503)
                if page is None:
                    page = Page(b"not found", 404)
                if page.delay:
                    time.sleep(page.delay)
                if (page.etag and self.headers.get("If-None-Match") == page.etag) or (
                        page.last_modified and self.headers.get("If-Modified-Since") == page.last_modified):
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **page.headers}
                if page.etag:
                    headers["ETag"] = page.etag
                if page.last_modified:
                    headers["Last-Modified"] = page.last_modified
                for k, v in headers.items():
                    if v is not None:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                if page.drip:
                    for i in range(len(page.body)):
                        self.wfile.write(page.body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(page.drip)
                else:
                    self.wfile.write(page.body)

            def log_message(self, *args):
                pass

        self.server = Server(Handler)
        self.base = self.server.base

    def html(self, path: str, html: str, **kw) -> None:
        self.pages[path] = Page(html.encode("utf-8"), **kw)

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p.split("?")[0] == path)


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.close()


def write_agencies(path, agencies: list[dict]) -> None:
    data = {"office": {"name": "示范市政务公开办", "notify": ["json://127.0.0.1:9/office"]}, "agencies": agencies}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def agency(slug: str, url: str, level: str = "department", kind: str = "listing", **extra) -> dict:
    return {"slug": slug, "name": f"{slug}局", "level": level, "sources": [{"url": url, "kind": kind}], **extra}


@pytest.fixture
def sqlite_url(tmp_path):
    from models.db import dispose_engines, migrate

    url = f"sqlite:///{tmp_path / 'nianbao.db'}"
    migrate(url)
    yield url
    dispose_engines()


@pytest.fixture
def polling(tmp_path, sqlite_url):
    """make(agencies, today) → a runtime with those agencies loaded; poll(rt) runs a poll cycle."""

    def make(agencies: list[dict], today: date = date(2026, 2, 10), db_url: str | None = None, **settings):
        path = tmp_path / "agencies.yaml"
        write_agencies(path, agencies)
        rt = make_runtime(tmp_path, db_url or sqlite_url, path, today)
        for key, value in {"fetch_retries": 0, "poll_host_rate": 0, **settings}.items():
            setattr(rt.settings, key, value)
        from worker import pipeline

        pipeline.refresh_roster(rt)
        return rt

    return make


def poll(rt, *, force: bool = True, steps=("poll_batch", "poll_source", "fetch_report")) -> list:
    """One poll cycle, fetching included; later steps (parse, score) are returned, not run."""
    from worker import pipeline
    from worker.errors import TransientError

    queue = deque(pipeline.due_sources(rt, all_sources=force))
    later = []
    while queue:
        step = queue.popleft()
        if step.step not in steps:
            later.append(step)
            continue
        try:
            queue.extend(pipeline.run_step(rt, step.step, step.arg))
        except TransientError:
            pass
    pipeline.refresh_expectations(rt)
    return later
