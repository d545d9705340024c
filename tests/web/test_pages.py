"""The server-rendered pages: sign-in, roles, CSRF, the overview, a report's highlighted cells."""

from __future__ import annotations

import re

from sqlmodel import select

from models import Report, Silence
from models.db import session_scope
from tests.web.conftest import ADMIN, VIEWER, csrf_from, login


def _row(html: str, slug: str) -> str:
    match = re.search(rf'<tr data-slug="{slug}".*?</tr>', html, re.S)
    assert match, slug
    return match.group(0)


def test_sign_in_needs_the_right_password_and_a_csrf_token(client):
    page = client.get("/login")
    token = csrf_from(page.text)
    assert client.post("/login", data={"username": "admin", "password": "wrong", "csrf_token": token}).status_code == 401
    assert client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token}).status_code == 401
    assert client.post("/login", data={"username": "admin", "password": ADMIN[1]}).status_code == 403
    r = client.post("/login", data={"username": "admin", "password": ADMIN[1], "csrf_token": token, "next": "//evil.example/"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_overview_lists_every_agency_with_its_state_and_filters(client):
    login(client, VIEWER)
    html = client.get("/").text
    assert 'data-slug="qinghe-sthj" data-state="missing"' in html and 'data-slug="songlin-jyj" data-state="late"' in html
    assert "政府部门年报截止" in html and "人民政府年报截止" in html and 'id="league"' in html
    assert "未发布" in _row(html, "qinghe-sthj")
    late = client.get("/", params={"state": "late"}).text
    assert re.findall(r'data-slug="([^"]+)"', late) == ["songlin-jyj"]
    by_score = client.get("/", params={"sort": "score", "order": "desc"}).text
    slugs = re.findall(r'data-slug="([^"]+)"', by_score)
    scores = [int(s) if s else None for s in re.findall(r'<td class="num score"[^>]*>(\d*)', by_score)]
    # wjw's blank columns no longer give it a perfect score (issue 17): the clean report leads.
    assert slugs[:2] == ["songlin-xian", "songlin-wjw"]
    assert "可判定 100%" in _row(by_score, "songlin-xian")
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True) and scores[-1] is None  # the missing report last
    assert client.get("/", params={"sort": "bogus"}).status_code == 422
    for path in ("/agencies/qinghe-fgj", "/notices", "/rules", "/notices/1"):
        assert client.get(path).status_code == 200, path
    assert client.get("/agencies/no-such").status_code == 404


def test_report_page_highlights_the_failing_cells(client, seeded):
    login(client, VIEWER)
    with session_scope(seeded.db_url) as session:
        report = session.exec(select(Report).where(Report.url.contains("qinghe-fgj/nb2025"))).one()
    html = client.get(f"/reports/{report.id}").text
    flagged = set(re.findall(r'class="num flagged[^"]*" data-field="([^"]+)"', html))
    assert {"apply.new.natural", "apply.results_total.natural", "apply.new.total"} <= flagged
    assert "apply.granted.natural" not in flagged
    assert 'data-rule="ARI-01"' in html and "一、总体情况" in html
    original = client.get(f"/reports/{report.id}/original")
    assert original.status_code == 200 and "sandbox" in original.headers["content-security-policy"]
    assert "发展和改革局" in original.content.decode("utf-8", "replace")


def test_read_only_user_sees_no_actions_and_cannot_silence(client, seeded):
    csrf = login(client, VIEWER)
    assert "/actions/silence" not in client.get("/agencies/qinghe-fgj").text
    r = client.post("/actions/silence", data={"csrf_token": csrf, "rule_id": "ARI-01", "until": "2026-12-31",
                                              "reason": "核实中", "agency": "qinghe-fgj"}, follow_redirects=False)
    assert r.status_code == 403
    with session_scope(seeded.db_url) as session:
        assert session.exec(select(Silence)).all() == []


def test_forms_without_the_csrf_token_are_rejected(client, seeded):
    login(client, ADMIN)
    data = {"rule_id": "ARI-01", "until": "2026-12-31", "reason": "核实中", "agency": "qinghe-fgj"}
    assert client.post("/actions/silence", data=data).status_code == 403
    assert client.post("/actions/silence", data={**data, "csrf_token": "forged"}).status_code == 403
    assert client.post("/actions/notices/1/ack", data={}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    with session_scope(seeded.db_url) as session:
        assert session.exec(select(Silence)).all() == []


def test_admin_silences_a_finding_and_the_overview_shows_it(client, seeded):
    csrf = login(client, ADMIN)
    assert "ARI-01" not in re.search(r'<td class="silenced"[^>]*>(.*?)</td>', _row(client.get("/").text, "qinghe-fgj")).group(1)
    report_page = client.get("/agencies/qinghe-fgj").text
    assert 'value="ARI-01"' in report_page  # the silence form next to the open deficiency
    r = client.post("/actions/silence", data={"csrf_token": csrf, "rule_id": "ARI-01", "until": "2026-12-31",
                                              "reason": "<b>核实中</b>", "agency": "qinghe-fgj"},
                    headers={"referer": "http://testserver/agencies/qinghe-fgj"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/agencies/qinghe-fgj"
    agency_page = client.get("/agencies/qinghe-fgj").text
    assert "已静默规则 ARI-01" in agency_page and "&lt;b&gt;核实中&lt;/b&gt;" in agency_page
    row = _row(client.get("/").text, "qinghe-fgj")
    assert re.search(r'<td class="silenced"[^>]*>ARI-01</td>', row)
    with session_scope(seeded.db_url) as session:
        (silence,) = session.exec(select(Silence)).all()
        assert (silence.rule_id, silence.created_by, str(silence.until)) == ("ARI-01", "admin", "2026-12-31")
    # A silence in the past is refused with a message, not an error page.
    refused = client.post("/actions/silence", data={"csrf_token": csrf, "rule_id": "TXT-05", "until": "2020-01-01",
                                                    "reason": "x", "agency": "qinghe-fgj"})
    assert refused.status_code == 200 and "未能静默" in refused.text and "已过" in refused.text
    with session_scope(seeded.db_url) as session:
        assert len(session.exec(select(Silence)).all()) == 1
    # Logging out ends the session.
    assert client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_document_waiting_for_a_person_is_not_shown_as_clean(client, seeded):
    """Another agency's report filed under 青河区生态环境局 is not judged: its page says it was not
    checked, never "未发现需要整改的问题"."""
    from collections import deque

    from tests.conftest import REPO
    from worker.polling import ingest_file
    from worker.runner import CycleReport, drain

    data = (REPO / "tests/fixtures/g01-anping-2022-wordpaste.html").read_bytes()
    filed = ingest_file(seeded, "qinghe-sthj", "anping.html", data, year=2025)
    drain(seeded, deque(filed.steps), CycleReport())
    login(client, VIEWER)
    html = client.get(f"/reports/{filed.report_id}").text
    assert 'id="needs-review"' in html and "安平县自然资源局" in html
    assert "未发现需要整改的问题" not in html and "这一版本没有评分，尚未核查" in html
