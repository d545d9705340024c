"""Deadlines, missing vs unreachable, the circuit breaker, silent edits, the polling calendar."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from config.agencies import AgencyFileError, parse_roster
from config.polling import PollingPolicy
from models import ExpectedReport, PollEvent, Report, Snapshot, Source
from models.db import session_scope
from tests.polling.conftest import Page, agency, poll
from worker.expectations import compute

PDF = b"%PDF-1.4\n% version one\n"


def expectation(rt, slug=None):
    from models import Agency

    with session_scope(rt.db_url) as session:
        rows = session.exec(select(ExpectedReport, Agency).join(Agency)).all()
        return {a.slug: e for e, a in rows} if slug is None else next(e for e, a in rows if a.slug == slug)


def events(rt, kind):
    with session_scope(rt.db_url) as session:
        return session.exec(select(PollEvent).where(PollEvent.kind == kind)).all()


def test_compute_states_without_a_database():
    deadline, year = date(2026, 1, 31), 2025
    ok = Source(agency_id=1, url="u", status="ok", last_ok_on=date(2026, 2, 2))
    down = Source(agency_id=1, url="u", status="failed", failed_since=datetime(2026, 1, 20, tzinfo=timezone.utc))
    on_time = Report(agency_id=1, url="a", year=year, published_on=date(2026, 1, 30))
    late = Report(agency_id=1, url="b", year=year, published_on=date(2026, 2, 1))
    assert compute(year, deadline, date(2026, 1, 20), [], [ok]).state == "pending"
    assert compute(year, deadline, date(2026, 2, 3), [], [ok]).state == "missing"
    assert compute(year, deadline, date(2026, 2, 3), [], [down]).state == "unreachable"
    polled_before = Source(agency_id=1, url="u", status="ok", last_ok_on=date(2026, 1, 30))
    assert compute(year, deadline, date(2026, 2, 3), [], [polled_before]).state == "pending"  # no poll since
    assert compute(year, deadline, date(2026, 2, 3), [on_time], [down]).state == "published"
    assert compute(year, deadline, date(2026, 2, 3), [late], [ok]).state == "published_late"
    both = compute(year, deadline, date(2026, 2, 3), [on_time, late], [ok])
    assert both.ambiguous and both.report_id is None and both.state == "published"


def test_no_report_at_the_deadline_is_missing_a_site_down_is_unreachable(site, polling):
    site.html("/a/", '<ul><li><a href="/d/2024.pdf">甲局2024年政府信息公开工作年度报告</a></li></ul>')
    site.pages["/d/2024.pdf"] = Page(PDF)
    rt = polling([agency("jia", site.base + "/a/"), agency("yi", site.base + "/b/")], today=date(2026, 1, 25))
    site.html("/b/", "<ul></ul>")
    poll(rt)
    assert {k: e.state for k, e in expectation(rt).items()} == {"jia": "pending", "yi": "pending"}
    site.pages["/b/"] = Page(b"", 503)  # yi's site goes down before the deadline and stays down
    rt.settings.today = date(2026, 2, 2)
    poll(rt)
    states = expectation(rt)
    assert states["jia"].state == "missing" and "已过截止日期2天" in states["jia"].detail
    assert states["yi"].state == "unreachable" and "全部来源抓取失败" in states["yi"].detail
    site.html("/b/", "<ul></ul>")  # back, still no report: now it is missing
    poll(rt)
    assert expectation(rt, "yi").state == "missing"


def test_circuit_breaker_opens_after_n_failures_tells_once_backs_off_and_recovers(site, polling):
    site.pages["/c/"] = Page(b"", 503)
    rt = polling([agency("bing", site.base + "/c/")], breaker_failures=3)
    delays = []
    for _ in range(5):
        poll(rt)
        with session_scope(rt.db_url) as session:
            source = session.exec(select(Source)).one()
            delays.append(source.next_poll_at - source.last_polled_at)
    assert source.failures == 5 and source.unreachable_since is not None and "HTTP 503" in source.status_reason
    (event,) = events(rt, "unreachable")
    assert "连续3次抓取失败" in event.detail and event.noticed_at is None
    assert delays[0] <= timedelta(minutes=11)  # a quick retry first
    assert delays[4] > delays[3] > delays[2] > timedelta(minutes=45)  # then backing off, open circuit
    assert delays[4] <= timedelta(hours=rt.settings.breaker_max_backoff_hours)
    site.html("/c/", "<ul></ul>")
    poll(rt)
    with session_scope(rt.db_url) as session:
        source = session.exec(select(Source)).one()
    assert (source.status, source.failures, source.unreachable_since) == ("ok", 0, None)
    assert len(events(rt, "recovered")) == 1 and len(events(rt, "unreachable")) == 1


def test_refusal_is_recorded_with_its_reason(site, polling):
    site.pages["/r/"] = Page(b"", 302, headers={"Location": "http://elsewhere.example.com/"})
    rt = polling([agency("ding", site.base + "/r/")])
    poll(rt)
    with session_scope(rt.db_url) as session:
        source = session.exec(select(Source)).one()
    assert source.status == "failed" and "not among the agency's allowed hosts" in source.status_reason
    assert "elsewhere.example.com" in events(rt, "refused")[0].detail


def test_a_report_changed_after_publication_is_a_new_snapshot_and_recorded(site, polling):
    site.html("/e/", '<ul><li><a href="/d/2025.pdf">戊局2025年政府信息公开工作年度报告</a>2026-01-20</li></ul>',
              etag='"l1"')
    site.pages["/d/2025.pdf"] = Page(PDF, etag='"r1"')
    rt = polling([agency("wu", site.base + "/e/")])
    later = poll(rt)
    assert [s.step for s in later] == ["parse_snapshot"]
    # Unchanged (304s): no new version, but the version never read still owes its parse
    # ("the same bytes" is not "done"); running it twice changes nothing.
    assert poll(rt) == later
    with session_scope(rt.db_url) as session:
        assert len(session.exec(select(Snapshot)).all()) == 1
    site.pages["/d/2025.pdf"] = Page(PDF.replace(b"one", b"two"), etag='"r2"')  # the listing does not say
    changed = poll(rt)
    assert [s.step for s in changed] == ["parse_snapshot"] and changed != later
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report)).one()
        snapshots = session.exec(select(Snapshot)).all()
    assert len(snapshots) == 2 and report.edit_count == 1 and report.edited_at is not None
    assert report.latest_snapshot_id == max(s.id for s in snapshots)
    (event,) = events(rt, "silent_edit")
    assert "发布后内容有变化" in event.detail and event.report_id == report.id


def test_recheck_of_known_reports_follows_their_schedule_unless_forced(site, polling):
    site.html("/f/", '<ul><li><a href="/d/2025.pdf">己局2025年政府信息公开工作年度报告</a></li></ul>', etag='"l1"')
    site.pages["/d/2025.pdf"] = Page(PDF, etag='"r1"')
    rt = polling([agency("ji", site.base + "/f/")])
    poll(rt)
    hits = site.hits("/d/2025.pdf")
    from worker import pipeline

    with session_scope(rt.db_url) as session:  # make every source due, as the calendar would
        for s in session.exec(select(Source)):
            s.next_poll_at = datetime.now(timezone.utc) - timedelta(minutes=1)
            session.add(s)
        session.commit()
    poll(rt, force=False)
    assert site.hits("/d/2025.pdf") == hits  # the report's own re-check is not due yet
    poll(rt, force=True)
    assert site.hits("/d/2025.pdf") == hits + 1


def test_polling_calendar_dense_around_deadlines_with_jitter():
    policy = PollingPolicy(sparse_minutes=1440, dense_minutes=60, jitter=0.2)
    assert policy.interval(date(2026, 1, 31)) == timedelta(minutes=60)
    assert policy.interval(date(2026, 3, 31)) == timedelta(minutes=60)
    assert policy.interval(date(2026, 7, 1)) == timedelta(minutes=1440)
    rng = random.Random(1)
    delays = {policy.next_delay(date(2026, 7, 1), rng) for _ in range(50)}
    assert len(delays) > 40 and all(timedelta(minutes=1152) <= d <= timedelta(minutes=1728) for d in delays)
    assert PollingPolicy(windows=("12-20..01-05",)).dense_on(date(2026, 1, 2))  # across the new year


def test_per_agency_polling_in_the_agencies_file():
    text = """office: {name: 办}
agencies:
  - slug: a
    name: 甲
    level: department
    sources: [{url: "https://a.gov.cn/nb/", kind: feed}]
    polling: {dense_minutes: 15, windows: ["01-20..02-05"]}
"""
    roster = parse_roster(text, "agencies.yaml", env={})
    policy = PollingPolicy().with_overrides(roster.agencies[0].polling)
    assert policy.dense_minutes == 15 and policy.windows == ("01-20..02-05",)
    assert roster.agencies[0].sources[0].kind == "feed"
    with pytest.raises(AgencyFileError) as bad:
        parse_roster(text.replace("dense_minutes: 15", "dense_minutes: often").replace("01-20..02-05", "Jan"),
                     "agencies.yaml", env={})
    problems = [str(p) for p in bad.value.problems]
    assert any("agencies.yaml:7:" in p and "dense_minutes" in p for p in problems)
    assert any("时段“Jan”不是“月-日..月-日”的写法" in p for p in problems)
