"""Tables on SQLite and PostgreSQL: migrations, the unique keys that make steps idempotent, times."""

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from models import Agency, Notice, Report, Snapshot
from models.db import migrate, session_scope


def _agency(session):
    agency = Agency(slug="qinghe-fgj", name="青河区发展和改革局", level="department", notify=["json://x"])
    session.add(agency)
    session.commit()
    return agency


def test_migrations_are_idempotent(db_url):
    migrate(db_url)  # the fixture migrated already: a second run is a no-op
    with session_scope(db_url) as session:
        assert session.exec(select(Agency)).all() == []


def test_unique_keys_refuse_a_second_copy(db_url):
    with session_scope(db_url) as session:
        agency = _agency(session)
        report = Report(agency_id=agency.id, url="http://a/nb.html", year=2025)
        session.add(report)
        session.commit()
        session.add(Snapshot(report_id=report.id, sha256="a" * 64))
        session.commit()
        session.add(Snapshot(report_id=report.id, sha256="a" * 64))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(Notice(dedup_key="deficiency:1:x", kind="deficiency", audience="agency", subject="s", body="b"))
        session.commit()
        session.add(Notice(dedup_key="deficiency:1:x", kind="deficiency", audience="agency", subject="s", body="b"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_times_come_back_timezone_aware_and_naive_ones_are_refused(db_url):
    with session_scope(db_url) as session:
        agency = _agency(session)
        when = datetime(2026, 1, 22, 8, 30, tzinfo=timezone.utc)
        report = Report(agency_id=agency.id, url="http://a/nb.html", first_seen_at=when)
        session.add(report)
        session.commit()
        report_id = report.id
    with session_scope(db_url) as session:
        assert session.get(Report, report_id).first_seen_at == when
        session.add(Report(agency_id=agency.id, url="http://a/other.html", first_seen_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_json_columns_hold_chinese_text(db_url):
    with session_scope(db_url) as session:
        agency = _agency(session)
        report = Report(agency_id=agency.id, url="http://a/nb.html")
        session.add(report)
        session.commit()
        snapshot = Snapshot(report_id=report.id, sha256="b" * 64, parsed={"meta": {"agency": "青河区"}})
        session.add(snapshot)
        session.commit()
        sid = snapshot.id
    with session_scope(db_url) as session:
        assert session.get(Snapshot, sid).parsed["meta"]["agency"] == "青河区"


def test_migrations_create_exactly_the_tables_the_models_declare(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from models.db import get_engine

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # Only real differences count: server defaults added for existing rows are not in the models.
    assert [d for d in diff if d[0] not in ("modify_default",)] == []
