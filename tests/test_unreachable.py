"""An unreachable database or broker: every command says so in one line that names the service,
its address (no credentials) and what to check, exits 3, and prints no traceback (unless
asked with --verbose or NIANBAO_DEBUG=1). Real closed ports on loopback, real drivers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released: connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nianbao(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                          env={**base, "NIANBAO_HOME": str(tmp_path), **env}, timeout=120)


def _one_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 3, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]


DATABASE_COMMANDS = [("status",), ("db", "upgrade"), ("notices", "list"), ("digest",), ("run", "--once"), ("cycle",),
                     ("rescore",), ("rules", "diff", "--against", "rules/library")]


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_an_unreachable_postgresql_is_one_line(tmp_path, command):
    port = _closed_port()
    run = _nianbao(*command, env={"NIANBAO_DATABASE_URL": f"postgresql://nianbao:s3cret@127.0.0.1:{port}/x"},
                   tmp_path=tmp_path)
    line = _one_line(run)
    assert line == (f"数据库无法连接：postgresql://…@127.0.0.1:{port}/x（connection refused）。"
                    "请检查 NIANBAO_DATABASE_URL 或启动数据库。")
    assert "s3cret" not in run.stderr + run.stdout


def test_a_database_that_does_not_exist_says_so(tmp_path):
    from tests.conftest import PG_URL

    url = PG_URL.rsplit("/", 1)[0] + "/nianbao_no_such_database"
    run = _nianbao("status", env={"NIANBAO_DATABASE_URL": url}, tmp_path=tmp_path)
    if "connection refused" in run.stderr:
        pytest.skip("PostgreSQL is not running here")
    assert 'database "nianbao_no_such_database" does not exist' in _one_line(run)


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path):
    run = _nianbao("status", env={"NIANBAO_DATABASE_URL": "sqlite:////proc/nianbao/x.db"}, tmp_path=tmp_path)
    assert _one_line(run).startswith("数据库无法打开：sqlite:////proc/nianbao/x.db（")


@pytest.mark.parametrize("command", [("worker",), ("beat",), ("cycle",)], ids=" ".join)
def test_an_unreachable_redis_is_one_line_and_the_process_exits(tmp_path, command):
    port = _closed_port()
    run = _nianbao(*command, env={"NIANBAO_BROKER_URL": f"redis://:s3cret@127.0.0.1:{port}/0"}, tmp_path=tmp_path)
    line = _one_line(run)
    assert line == (f"消息队列无法连接：redis://…@127.0.0.1:{port}/0（connection refused）。"
                    "请检查 NIANBAO_BROKER_URL 或启动 Redis。")
    assert "s3cret" not in run.stderr + run.stdout


def test_the_traceback_is_there_when_asked_for(tmp_path):
    port = _closed_port()
    env = {"NIANBAO_DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/x"}
    verbose = _nianbao("--verbose", "status", env=env, tmp_path=tmp_path)
    assert verbose.returncode == 3 and "Traceback" in verbose.stderr and "OperationalError" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1].startswith("数据库无法连接")
    debug = _nianbao("status", env={**env, "NIANBAO_DEBUG": "1"}, tmp_path=tmp_path)
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_other_failures_keep_their_traceback():
    """Only the unreachable services are translated: a bug still shows where it is."""
    from cli.failures import describe

    assert describe(ValueError("a bug")) is None
    assert describe(ConnectionRefusedError(111, "Connection refused")) is None  # not known to be ours
