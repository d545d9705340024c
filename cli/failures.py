"""One line, not a traceback, when the database or the broker cannot be reached.

Every command runs through ``run``: an exception whose cause is an unreachable (or refusing)
database or broker becomes one Chinese sentence naming the service, its address (without
credentials), the reason in the driver's words and what to check, and exit code 3. Any
other exception is a bug and keeps its traceback. ``--verbose`` or ``NIANBAO_DEBUG=1``
prints the traceback of the one-liners too.

``check_broker`` is the start-up check of `worker` and `beat`: Celery itself would retry a
missing broker forever, printing a warning every few seconds; a process that cannot start
says so once and exits, and its supervisor (compose's restart policy) tries again.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Callable

from config.urls import mask_service_url as mask

EXIT_UNREACHABLE = 3

# The driver's words, shortened to the cause (first match wins).
_CAUSES = [
    (re.compile(r"connection refused", re.I), "connection refused"),
    (re.compile(r"timed? ?out|timeout expired", re.I), "timed out"),
    (re.compile(r"could not translate host name|name or service not known|nodename nor servname|"
                r"temporary failure in name resolution|getaddrinfo failed", re.I), "host name not found"),
    (re.compile(r"password authentication failed[^\n]*", re.I), None),
    (re.compile(r'database "[^"]+" does not exist', re.I), None),
    (re.compile(r'role "[^"]+" does not exist', re.I), None),
    (re.compile(r"no route to host|network is unreachable", re.I), "network unreachable"),
    (re.compile(r"unable to open database file", re.I), "unable to open database file"),
    (re.compile(r"authentication required|invalid password|wrongpass[^\n]*|noauth[^\n]*", re.I), None),
]


def _cause(exc: BaseException) -> str:
    text = " ".join(str(e) for e in _chain(exc))
    for pattern, short in _CAUSES:
        found = pattern.search(text)
        if found:
            return short or found.group(0).strip().rstrip(".")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^\([\w.]+\)\s*", "", first)[:160]


def _chain(exc: BaseException) -> list[BaseException]:
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(exc)
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "orig", None)
    return out


def _which(exc: BaseException) -> str | None:
    """"database", "broker" or None, from the exception types along the chain."""
    for item in _chain(exc):
        module = type(item).__module__ or ""
        name = type(item).__name__
        if module.startswith(("sqlalchemy", "psycopg", "sqlite3")) and name in (
                "OperationalError", "InterfaceError", "ConnectionTimeout", "TimeoutError"):
            return "database"
        if module.startswith(("kombu", "redis", "amqp")) and name in (
                "OperationalError", "ConnectionError", "TimeoutError", "RecoverableConnectionError",
                "AccessRefused", "ConnectionForced", "AuthenticationError"):
            return "broker"
    return None


def describe(exc: BaseException, settings=None) -> str | None:
    """The one line for an unreachable database or broker; None for any other exception."""
    which = _which(exc)
    if which is None:
        return None
    cause = _cause(exc)
    if which == "database":
        url = getattr(settings, "db_url", "") or os.environ.get("NIANBAO_DATABASE_URL", "")
        if url.startswith("sqlite"):
            return (f"数据库无法打开：{mask(url)}（{cause}）。请检查 NIANBAO_HOME 或 NIANBAO_DATABASE_URL "
                    f"指向一个可写的目录。")
        return f"数据库无法连接：{mask(url)}（{cause}）。请检查 NIANBAO_DATABASE_URL 或启动数据库。"
    url = getattr(settings, "broker_url", "") or os.environ.get("NIANBAO_BROKER_URL", "")
    service = "Redis" if url.startswith("redis") else "RabbitMQ" if url.startswith("amqp") else "消息队列"
    return f"消息队列无法连接：{mask(url)}（{cause}）。请检查 NIANBAO_BROKER_URL 或启动 {service}。"


def verbose_requested(argv: list[str]) -> bool:
    return os.environ.get("NIANBAO_DEBUG", "") not in ("", "0") or "--verbose" in argv


def run(app: Callable[[], object], argv: list[str] | None = None) -> None:
    """Run the Typer app; an unreachable database or broker ends in one line and exit code 3."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - only the unreachable-service ones are translated
        try:
            from config.settings import get_settings

            settings = get_settings()
        except Exception:  # noqa: BLE001 - the environment itself was the problem: name what we can
            settings = None
        line = describe(exc, settings)
        if line is None:
            raise
        if verbose_requested(argv):
            traceback.print_exc()
        print(line, file=sys.stderr)
        sys.exit(EXIT_UNREACHABLE)


def check_broker(url: str, timeout: float = 5.0) -> None:
    """Connect once to the broker (raises kombu's OperationalError when it cannot)."""
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
