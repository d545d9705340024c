"""A database seeded by a real pipeline run (demo portals over HTTP, SQLite and PostgreSQL),
and the dashboard over it with one admin, one read-only user and one API token."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_runtime, unavailable, write_roster

ADMIN, VIEWER = ("admin", "admin-pass"), ("viewer", "viewer-pass")
TOKEN, VIEWER_TOKEN = "tok-admin-0123456789", "tok-viewer-0123456789"


@pytest.fixture
def seeded(tmp_path, db_url, portals, endpoint):
    from worker.runner import run_cycle

    roster = write_roster(tmp_path / "agencies.yaml", portals.base, endpoint)
    rt = make_runtime(tmp_path, db_url, roster)
    report = run_cycle(rt)
    assert not report.errors, report.errors
    rt.endpoint = endpoint
    return rt


@pytest.fixture
def accounts():
    from web.auth import accounts_from_env, hash_password, hash_token

    return accounts_from_env({
        "NIANBAO_WEB_USERS": f"admin:{hash_password(ADMIN[1], iterations=1000)}:admin,"
                             f"viewer:{hash_password(VIEWER[1], iterations=1000)}:viewer",
        "NIANBAO_WEB_TOKENS": f"ci:{hash_token(TOKEN)}:admin,ro:{hash_token(VIEWER_TOKEN)}:viewer",
    })


@pytest.fixture
def app(seeded, accounts):
    from web.app import create_app

    return create_app(seeded, accounts, secret="test-secret")


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, user: tuple[str, str]) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": csrf_from(page.text),
                                    "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/").text)


# ---- the console on the demo's data, over several days (shared by the plain-Chinese and screen tests) --------
CLERK, DIRECTOR = ("王科员", "clerk-pass"), ("李主任", "director-pass")  # Chinese names: no ASCII word to confuse


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The demo's six agencies on SQLite, run over the days that produce every notice kind and state:
    day 0 (deficiency, alert, missing, admin, digest; the office counts blank cells as absent, so wjw's
    blank columns leave checks not evaluated), fgj's corrected re-publication a week later
    (resolution, and a silent edit of songlin-xian: an alert from polling), a silence, the reminder
    before the date to correct by, the overdue copy after it, and the digest that lists it."""
    import functools
    import shutil
    from datetime import timedelta

    from sqlmodel import select

    from cli.demo import QuietHandler
    from models import Deficiency, Silence
    from models.db import migrate, session_scope
    from tests.conftest import EXAMPLES, JsonEndpoint, Server
    from worker.runner import run_cycle

    tmp = tmp_path_factory.mktemp("world")
    root = tmp / "portals"
    shutil.copytree(EXAMPLES / "portals", root)
    portals = Server(functools.partial(QuietHandler, directory=str(root)))
    portals.root = root
    endpoint = JsonEndpoint()
    url = f"sqlite:///{tmp / 'nianbao.db'}"
    migrate(url)
    rt = make_runtime(tmp, url, write_roster(tmp / "agencies.yaml", portals.base, endpoint))
    # This office has chosen blank_cells: absent (scoring.yaml): wjw's blank 法人 columns then leave
    # the identities not evaluated, which is what the report page groups and the admins are told.
    from rules import LIBRARY
    from worker.runtime import RulesCache

    strict = tmp / "rules"
    shutil.copytree(LIBRARY, strict)
    scoring = strict / "scoring.yaml"
    scoring.write_text(scoring.read_text(encoding="utf-8").replace("blank_cells: zero", "blank_cells: absent"),
                       encoding="utf-8")
    rt.rules = RulesCache(strict)
    day = rt.settings.today
    try:
        assert not run_cycle(rt).errors
        rt.settings.today = day + timedelta(days=7)
        shutil.copyfile(EXAMPLES / "corrected" / "qinghe-fgj" / "nb2025.html", root / "qinghe-fgj" / "nb2025.html")
        page = root / "songlin-xian" / "nb2025.html"
        page.write_text(page.read_text(encoding="utf-8").replace(">51<", ">52<", 1), encoding="utf-8")
        with session_scope(url) as session:
            session.add(Silence(agency_id=None, rule_id="TXT-11", until=day + timedelta(days=400),
                                reason="错别字另行通报", created_by="王科员"))
            session.commit()
        assert not run_cycle(rt).errors
        with session_scope(url) as session:
            correct_by = min(c.correct_by for c in session.exec(select(Deficiency).where(Deficiency.state == "open")))
        for today in (correct_by - timedelta(days=1), correct_by + timedelta(days=1), correct_by + timedelta(days=8)):
            rt.settings.today = today
            assert not run_cycle(rt).errors
        rt.endpoint, rt.portals = endpoint, portals
        yield rt
    finally:
        portals.close()
        endpoint.server.close()


@pytest.fixture(scope="session")
def world_accounts():
    from web.auth import accounts_from_env, hash_password

    return accounts_from_env({"NIANBAO_WEB_USERS": f"{CLERK[0]}:{hash_password(CLERK[1], iterations=1000)}:viewer,"
                                                   f"{DIRECTOR[0]}:{hash_password(DIRECTOR[1], iterations=1000)}:admin"})


@pytest.fixture(scope="session")
def world_app(world, world_accounts):
    from web.app import create_app

    return create_app(world, world_accounts, secret="world-secret")


# ---- the app on a real port and Debian's chromium (browser and screen tests) -------------------------------
CHROMIUM = Path(os.environ.get("NIANBAO_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@contextlib.contextmanager
def serving(app, start_seconds: float = 20):
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@contextlib.contextmanager
def headless_chromium():
    """Debian's chromium driven by Playwright (no browser is ever downloaded)."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is absent: install Debian's chromium package (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
