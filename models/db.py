"""Engine, sessions and schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine, select

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_engines: dict[str, Engine] = {}
_held = threading.local()  # url → the Connection that sessions share inside shared_connection()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the poller read while a worker writes; NORMAL is safe with WAL and 4x faster.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def get_engine(url: str) -> Engine:
    """One engine per URL per process (Celery prefork children each build their own)."""
    if url not in _engines:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # a database that cannot be opened, as SQLAlchemy says it
                    raise OperationalError(f"create the folder of {path}", None, exc) from exc
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return _engines[url]


def dispose_engines() -> None:
    """Drop pooled connections (after fork, or at the end of a test)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def shared_connection(url: str) -> Iterator[None]:
    """Sessions opened meanwhile (in this thread) share one pooled connection: a worker task
    running several steps checks out (and pings) the connection once, not once per step and
    again after each commit. Each session still has its own transaction and commits it."""
    held = getattr(_held, "connections", None)
    if held is None:
        held = _held.connections = {}
    if url in held:
        yield
        return
    with get_engine(url).connect() as conn:
        held[url] = conn
        try:
            yield
        finally:
            del held[url]


@contextmanager
def batch_transaction(url: str) -> Iterator[None]:
    """One transaction for a batch of steps (inside shared_connection): each session opened
    meanwhile works in a SAVEPOINT of it, so its commit releases the savepoint and its
    rollback (an item that failed) undoes only its own writes; the whole batch is committed
    once, at the end, or not at all when an exception leaves the block."""
    conn = getattr(_held, "connections", {}).get(url)
    if conn is None:
        raise RuntimeError("batch_transaction needs shared_connection")
    batches = getattr(_held, "batches", None)
    if batches is None:
        batches = _held.batches = set()
    with conn.begin():
        batches.add(url)
        try:
            yield
        finally:
            batches.discard(url)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    conn = getattr(_held, "connections", {}).get(url)
    if conn is not None and url in getattr(_held, "batches", ()):
        if conn.invalidated:  # the connection broke mid-batch: the batch fails as a whole
            raise OperationalError("the batch's connection was lost", None, Exception("invalidated"))
        with Session(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint") as session:
            yield session
        return
    # A session opened while another one's transaction is open (or after the connection broke)
    # gets a connection of its own, as without sharing: it must commit or fail by itself.
    if conn is not None and not conn.closed and not conn.invalidated and not conn.in_transaction():
        with Session(bind=conn, expire_on_commit=False) as session:
            yield session
        if conn.in_transaction():  # left open by a session that only read: end it as close() would
            conn.rollback()
        return
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session


def rows_by_id(session: Session, model, ids) -> dict:
    """The rows of ``model`` with these ids, in one query, by id (a missing one is left out)."""
    ids = list(dict.fromkeys(i for i in ids if i is not None))
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))}


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent; safe at every start, and safe when
    several processes start at once: the first migrates under a lock, the others then find
    the schema up to date)."""
    engine = get_engine(url)
    with _migration_lock(url), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Held to the end of this transaction, which holds the whole upgrade (DDL is
            # transactional in PostgreSQL). Keyed by schema: test schemas migrate in parallel.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('nianbao.migrate.' || current_schema()))"))
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # "heads": a branch written in parallel applies before its merge


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """SQLite: an exclusive lock on a file beside the database (its DDL cannot wait on a row
    lock the way PostgreSQL's advisory lock does). Nothing for other databases."""
    path = url.split(":///", 1)[-1] if url.startswith("sqlite") else ""
    if not path or path == ":memory:" or "mode=memory" in url:
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: one process at a time is the operator's business there
        yield
        return
    lock = Path(path.split("?", 1)[0] + ".migrate-lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
