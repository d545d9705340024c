"""An article page whose tables are pictures (the scan corpus's s14), through the pipeline
(embedded engine, real HTTP server): parse_snapshot sees tables it cannot read and hands the page to OCR; ocr_snapshot
fetches the pictures from the agency's site, reads them where they stand, and the page's
fields are those of the report the pictures show."""

from __future__ import annotations

import json

import pytest

from cli.demo import portal_server
from models import Agency, Report, Snapshot
from models.db import session_scope
from tests.conftest import REPO
from worker.pipeline import run_step
from worker.steps import Next

SCANS = REPO / "tests" / "fixtures" / "scans"
PAGE = "s14-nanling-2021-table-images.html"  # 南岭镇's report: prose as text, its three tables as pictures


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # OCR costs the same on either database
def test_article_whose_tables_are_pictures(tmp_path, db_url):
    from config.settings import Settings
    from worker.runtime import Runtime

    data = (SCANS / PAGE).read_bytes()
    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url, allow_private_hosts=True))
    with portal_server(SCANS) as base, session_scope(db_url) as session:
        agency = Agency(slug="nanling", name="南岭镇人民政府", level="government", allowed_hosts=["127.0.0.1"])
        session.add(agency)
        session.flush()
        report = Report(agency_id=agency.id, url=f"{base}/{PAGE}", via="article", confidence=1.0,
                        year=2021, title="", status="fetched")
        session.add(report)
        session.flush()
        snapshot = Snapshot(report_id=report.id, sha256=rt.blobs.put(data), content_type="text/html",
                            size=len(data), fetched_at=rt.now())
        session.add(snapshot)
        session.commit()
        sid = snapshot.id
        assert run_step(rt, "parse_snapshot", sid) == [Next("ocr_snapshot", sid)]
        assert run_step(rt, "ocr_snapshot", sid) == [Next("evaluate", sid)]
    with session_scope(db_url) as session:
        snap = session.get(Snapshot, sid)
        assert snap.parse_status == "parsed", snap.parse_error
        parsed = snap.parsed
    expected = json.loads((SCANS / "expected" / f"{PAGE}.json").read_text("utf-8"))
    assert parsed["fields"] == expected["fields"] and not parsed["doubtful"]
    assert parsed["meta"]["format"] == "html" and parsed["meta"]["source"] == "ocr"
    assert set(parsed["ocr"]) == {k for k in parsed["fields"] if not k.startswith("narrative")}
