"""Migrations run once, safely: several `nianbao db upgrade` started together on an empty
database (compose starts worker, beat and web at once, each migrating at start) all succeed
and leave one schema at the newest revision."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy

from tests.conftest import REPO, _drop_schema, _postgres_schema_url


def _upgrade_together(url: str, n: int = 5) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "NIANBAO_DATABASE_URL": url, "NIANBAO_HOME": os.devnull}
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "db", "upgrade"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def _head() -> str:
    from alembic.script import ScriptDirectory

    from models.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def _assert_one_schema(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = [row[0] for row in conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))]
            tables = set(sqlalchemy.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert versions == [_head()]
    assert {"agency", "source", "report", "snapshot", "evaluation", "finding", "notice"} <= tables


def test_five_upgrades_at_once_on_an_empty_postgresql_schema():
    url, schema = _postgres_schema_url()  # skips (or fails in CI) when PostgreSQL is down
    try:
        runs = _upgrade_together(url)
        for run in runs:
            assert run.returncode == 0, run.stderr[-2000:]
            assert "Traceback" not in run.stderr and "数据库结构已是最新" in run.stdout
        _assert_one_schema(url)
    finally:
        _drop_schema(schema)


def test_five_upgrades_at_once_on_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'nianbao.db'}"
    runs = _upgrade_together(url)
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    _assert_one_schema(url)


def test_an_upgrade_of_an_up_to_date_schema_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'nianbao.db'}"
    for _ in range(2):
        assert all(r.returncode == 0 for r in _upgrade_together(url, 1))
    _assert_one_schema(url)
