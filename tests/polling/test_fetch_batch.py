"""A poll batch's finds fetched as one list (worker.polling.fetch_reports, one transaction): a
document that goes back to an earlier version, a re-fetch of the same bytes, an item whose
document cannot be stored. Real SQLite and PostgreSQL, a real loopback site."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from models import PollEvent, Report, Snapshot
from models.db import session_scope
from tests.polling.conftest import Page, agency, poll
from worker import pipeline
from worker.steps import Next

PDF = b"%PDF-1.4\n% version one\n"
LISTING = '<ul><li><a href="/d/{year}.pdf">{name}{year}年政府信息公开工作年度报告</a></li></ul>'


def test_a_document_back_to_an_earlier_version_is_scored_again_as_the_current_one(site, polling, db_url):
    site.html("/g/", LISTING.format(year=2025, name="庚局"))
    site.pages["/d/2025.pdf"] = Page(PDF)
    rt = polling([agency("geng", site.base + "/g/")], db_url=db_url)
    poll(rt)
    with session_scope(rt.db_url) as session:
        first = session.exec(select(Snapshot)).one()
        first.parse_status, first.work_state = "parsed", "done"  # read and scored meanwhile
        session.add(first)
        session.commit()
        report_id = session.exec(select(Report.id)).one()

    def fetch():
        return pipeline.run_step(rt, "fetch_report", [report_id])

    site.pages["/d/2025.pdf"] = Page(PDF.replace(b"one", b"two"))
    (second,) = fetch()
    assert second.step == "parse_snapshot" and second.arg != first.id
    site.pages["/d/2025.pdf"] = Page(PDF)  # the site puts the first version back
    assert fetch() == [Next("evaluate", first.id)]
    assert fetch() == [Next("evaluate", first.id)]  # the same bytes again: what it still owes, nothing new
    with session_scope(rt.db_url) as session:
        report = session.get(Report, report_id)
        assert report.latest_snapshot_id == first.id and report.edit_count == 2 and report.status == "fetched"
        assert session.get(Snapshot, first.id).work_state == "evaluate"
        assert len(session.exec(select(Snapshot)).all()) == 2
        edits = session.exec(select(PollEvent).where(PollEvent.kind == "silent_edit").order_by(PollEvent.id)).all()
    assert [e.dedup_key for e in edits] == [f"silent_edit:{report_id}:{first.id}:{second.arg}",
                                            f"silent_edit:{report_id}:{second.arg}:{first.id}"]
    assert "第3次修改" in edits[1].detail


def test_an_item_whose_document_cannot_be_stored_keeps_its_error_and_the_others_are_fetched(site, polling, db_url):
    docs = {year: PDF.replace(b"one", str(year).encode()) for year in (2023, 2024, 2025)}
    site.html("/h/", "".join(LISTING.format(year=y, name="辛局") for y in docs))
    for year, data in docs.items():
        site.pages[f"/d/{year}.pdf"] = Page(data)
    rt = polling([agency("xin", site.base + "/h/")], db_url=db_url)
    poll(rt, steps=("poll_batch",))
    with session_scope(rt.db_url) as session:
        ids = {r.year: r.id for r in session.exec(select(Report))}
    # Where 2024's document would go is a file, not a folder: storing it fails (as a full disk would).
    blocked = rt.blobs.path(hashlib.sha256(docs[2024]).hexdigest()).parent
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"")
    steps = pipeline.run_step(rt, "fetch_report", sorted(ids.values()))
    with session_scope(rt.db_url) as session:
        reports = {y: session.get(Report, i) for y, i in ids.items()}
        snapshots = {s.report_id: s.id for s in session.exec(select(Snapshot))}
    assert reports[2024].status == "discovered" and "Error" in reports[2024].last_error
    assert ids[2024] not in snapshots
    assert all(reports[y].status == "fetched" and reports[y].latest_snapshot_id for y in (2023, 2025))
    assert steps == [Next("parse_snapshot", snapshots[ids[y]]) for y in (2023, 2025)]
    blocked.unlink()  # the reconciler hands its fetch out again: now it is stored
    (again,) = pipeline.run_step(rt, "fetch_report", [ids[2024]])
    with session_scope(rt.db_url) as session:
        assert session.get(Report, ids[2024]).status == "fetched"
        assert again == Next("parse_snapshot", session.get(Report, ids[2024]).latest_snapshot_id)
