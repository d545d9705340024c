"""Shared test fixtures: real databases (SQLite and PostgreSQL), real HTTP servers on loopback.

PostgreSQL and Redis tests skip with a reason when the service is not reachable on a
developer's machine; in CI (NIANBAO_TEST_REQUIRE_SERVICES=1) an unreachable service fails.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
EXAMPLES = REPO / "examples"
PG_URL = os.environ.get("NIANBAO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE = os.environ.get("NIANBAO_TEST_REQUIRE_SERVICES") == "1"
DEMO_TODAY = date(2026, 6, 30)


def unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} (NIANBAO_TEST_REQUIRE_SERVICES=1: services must be up)")
    pytest.skip(reason)


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent (a fresh clone without the shared folder)")
    return SHARED_FIXTURES


def _postgres_schema_url() -> tuple[str, str]:
    import sqlalchemy

    schema = "nb_test_" + uuid.uuid4().hex[:10]
    engine = sqlalchemy.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except sqlalchemy.exc.OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc.orig}")
    finally:
        engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database: SQLite in tmp_path, or a PostgreSQL schema of its own."""
    from models.db import dispose_engines, migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nianbao.db'}"
        migrate(url)
        yield url
        dispose_engines()
        return
    url, schema = _postgres_schema_url()
    migrate(url)
    yield url
    dispose_engines()
    _drop_schema(schema)


class Server:
    """A real HTTP server on loopback in a thread."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def portals(tmp_path):
    """A copy of examples/portals served over HTTP; tests may change the files under .root."""
    from cli.demo import QuietHandler
    import functools

    root = tmp_path / "portals"
    shutil.copytree(EXAMPLES / "portals", root)
    server = Server(functools.partial(QuietHandler, directory=str(root)))
    server.root = root
    yield server
    server.close()


class JsonEndpoint:
    """Receives Apprise json:// posts. `down` makes it answer 503, as a broken endpoint would."""

    def __init__(self):
        self.received: list[dict] = []
        self.down = False
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if endpoint.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                with endpoint.lock:
                    endpoint.received.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = Server(Handler)

    def url(self, name: str) -> str:
        return f"json://127.0.0.1:{self.server.httpd.server_address[1]}/{name}"

    def to(self, name: str) -> list[dict]:
        with self.lock:
            return [m for m in self.received if m["path"] == f"/{name}"]


@pytest.fixture
def endpoint():
    ep = JsonEndpoint()
    yield ep
    ep.server.close()


def write_roster(path: Path, base: str, endpoint: JsonEndpoint, slugs: list[str] | None = None) -> Path:
    """The demo roster pointed at `base`, with every notice going to the json endpoint."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "agencies.yaml").read_text(encoding="utf-8"))
    data["office"]["notify"] = [endpoint.url("office")]
    data["office"]["admins"] = [endpoint.url("admins")]
    agencies = []
    for agency in data["agencies"]:
        if slugs and agency["slug"] not in slugs:
            continue
        for source in agency["sources"]:
            source["url"] = source["url"].replace("${NIANBAO_DEMO_BASE}", base)
        agency["notify"] = [endpoint.url(agency["slug"])]
        agencies.append(agency)
    data["agencies"] = agencies
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_runtime(tmp_path: Path, db_url: str, agencies_file: Path, today: date = DEMO_TODAY):
    from config.settings import Settings
    from worker.runtime import Runtime

    settings = Settings(home=tmp_path / "home", database_url=db_url, agencies_file=agencies_file,
                        allow_private_hosts=True, today=today, broker_url="", fetch_timeout=5)
    return Runtime(settings)


@pytest.fixture
def rt(tmp_path, db_url, portals, endpoint):
    """A runtime over the demo portals, with every notice going to the json endpoint."""
    roster = write_roster(tmp_path / "agencies.yaml", portals.base, endpoint)
    runtime = make_runtime(tmp_path, db_url, roster)
    runtime.portals, runtime.endpoint = portals, endpoint
    return runtime


@pytest.fixture
def redis_url():
    """A Redis db of this run's own (the tests' key prefixes keep runs sharing it apart)."""
    import redis

    url = f"redis://127.0.0.1:6379/{1 + uuid.uuid4().int % 15}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {url}: {exc}")
    yield url
