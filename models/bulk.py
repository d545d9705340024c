"""Many rows in one statement: the batch steps write hundreds of rows a transaction, and a
statement (and an ORM flush) a row costs far more than the rows themselves.

Both engines we run on are covered: PostgreSQL and SQLite (≥ 3.35 for RETURNING).
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite


def insert_new(session, model, rows: list[dict], unique: Iterable[str], returning: Iterable = ()) -> list:
    """INSERT rows, skipping each whose unique key (the `unique` columns) is taken already
    (ON CONFLICT DO NOTHING: a re-run, or another worker that wrote the same row first).
    Returns the `returning` columns of the rows written. Rows must all set the same columns;
    the others take their defaults."""
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model.__table__).on_conflict_do_nothing(index_elements=list(unique))
    returning = [model.__table__.c[getattr(c, "key", c)] for c in returning]
    if not returning:
        session.execute(stmt, rows)
        return []
    return list(session.execute(stmt.returning(*returning), rows))


def update_by_id(session, model, rows: list[dict]) -> None:
    """UPDATE rows by their "id": one executemany for the rows that set the same columns, in id
    order (concurrent writers lock rows in the same order)."""
    table = model.__table__
    shapes: dict[tuple, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        shapes.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    for columns, same in shapes.items():
        if not columns:
            continue
        stmt = update(table).where(table.c.id == bindparam("_id"))
        session.execute(stmt, [{"_id": r["id"], **{c: r[c] for c in columns}} for r in same])
