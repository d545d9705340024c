"""A database seeded by a real pipeline run (demo portals over HTTP, SQLite and PostgreSQL),
and the dashboard over it with one admin, one read-only user and one API token."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_runtime, write_roster

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
