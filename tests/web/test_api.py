"""The JSON API, /healthz and /metrics over a database seeded by a real pipeline run."""

from __future__ import annotations

from sqlmodel import select

from models import Agency, Notice, Silence
from models.db import session_scope
from tests.test_pipeline import EXPECTED_STATES
from tests.web.conftest import TOKEN, VIEWER_TOKEN, login

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RO = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def test_every_endpoint_answers_from_the_pipelines_data(client):
    agencies = client.get("/api/agencies", headers=RO).json()
    assert {a["slug"]: a["state"] for a in agencies} == EXPECTED_STATES
    fgj = next(a for a in agencies if a["slug"] == "qinghe-fgj")
    assert fgj["open_errors"] == 2 and fgj["region"] == "青河区" and fgj["silenced_rules"] == []
    assert fgj["days_to_deadline"] < 0  # the demo's today is after the deadline
    assert fgj["coverage"] == 100  # how much of the report the rules could judge, beside the score

    by_score = client.get("/api/agencies", params={"sort": "score", "order": "desc"}, headers=RO).json()
    scores = [a["score"] for a in by_score if a["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert {a["slug"] for a in client.get("/api/agencies", params={"state": "late"}, headers=RO).json()} == {"songlin-jyj"}
    assert all(a["level"] == "department"
               for a in client.get("/api/agencies", params={"level": "department"}, headers=RO).json())

    detail = client.get("/api/agencies/qinghe-fgj", headers=RO).json()
    assert detail["agency"]["name"] == "青河区发展和改革局"
    assert {d["rule_id"] for d in detail["deficiencies"] if d["state"] == "open"} >= {"ARI-01"}
    assert all(v["sha256"] for r in detail["reports"] for v in r["versions"])

    reports = client.get("/api/reports", params={"agency": "qinghe-fgj", "year": 2025}, headers=RO).json()
    assert len(reports) == 1
    report = client.get(f"/api/reports/{reports[0]['id']}", headers=RO).json()
    assert {"apply.new.natural", "apply.results_total.total"} <= set(report["flagged_fields"])
    assert any(f["rule_id"] == "ARI-01" and f["basis"] for f in report["findings"])
    natural_new = next(c for row in report["apply_table"] if row["key"] == "new" for c in row["cells"]
                       if c["field"] == "apply.new.natural")
    assert "ARI-01" in natural_new["rules"]

    findings = client.get("/api/findings", params={"rule": "ARI-01", "status": "fail"}, headers=RO).json()
    assert {f["agency"] for f in findings} == {"qinghe-fgj"}

    notices = client.get("/api/notices", params={"audience": "agency"}, headers=RO).json()
    assert notices and all(n["audience"] == "agency" for n in notices)
    one = client.get(f"/api/notices/{notices[0]['id']}", headers=RO).json()
    assert one["body"] and one["attempts_log"][0]["ok"] is True

    status = client.get("/api/status", headers=RO).json()
    assert status["ruleset_version"] and status["evaluations"] > 0 and status["notices"]["sent"] > 0
    assert status["work"]["waiting"] == 0 and status["work"]["failed"] == []  # the work per step, as /healthz

    csv = client.get("/api/agencies.csv", headers=RO)
    assert csv.status_code == 200 and "qinghe-fgj" in csv.text and csv.headers["content-type"].startswith("text/csv")

    health = client.get("/healthz").json()
    assert health["ok"] is True and health["problems"] == [] and health["database"]["ok"] is True
    metrics = client.get("/metrics").text
    assert 'nianbao_notices{status="sent"}' in metrics and "nianbao_evaluations" in metrics
    assert 'nianbao_snapshots{status="parsed"}' in metrics and "nianbao_fetch_failures 0.0" in metrics

    schema = client.get("/openapi.json").json()
    assert {"/api/agencies", "/api/reports", "/api/findings", "/api/notices", "/api/status"} <= set(schema["paths"])


BAD = [
    ("/api/agencies", {"state": "bogus"}), ("/api/agencies", {"sort": "name;drop"}), ("/api/agencies", {"order": "up"}),
    ("/api/reports", {"year": "abc"}), ("/api/reports", {"limit": 0}), ("/api/reports", {"offset": -1}),
    ("/api/findings", {"severity": "fatal"}), ("/api/notices", {"status": "lost"}), ("/api/notices", {"limit": 5000}),
    ("/api/reports/notanumber", {}), ("/api/agencies", {"q": "x" * 101}),
]


def test_bad_parameters_are_422(client):
    for path, params in BAD:
        r = client.get(path, params=params, headers=RO)
        assert r.status_code == 422, (path, params, r.text)
        assert r.json()["detail"]


def test_unknown_things_are_404(client):
    assert client.get("/api/agencies/no-such", headers=RO).status_code == 404
    assert client.get("/api/reports/999999", headers=RO).status_code == 404
    assert client.get("/api/notices/999999", headers=RO).status_code == 404
    assert client.get("/api/reports", params={"agency": "no-such"}, headers=RO).status_code == 404


def test_unauthorised_calls_are_refused(client):
    for path in ("/api/agencies", "/api/reports", "/api/findings", "/api/notices", "/api/status",
                 "/api/agencies/qinghe-fgj", "/api/agencies.csv"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
    assert client.post("/api/silences", json={"rule_id": "ARI-01", "until": "2026-12-31", "reason": "x"}).status_code == 401
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get("/reports/1", follow_redirects=False).status_code == 303


def test_a_read_only_token_cannot_act(client, seeded):
    body = {"rule_id": "ARI-01", "until": "2026-12-31", "reason": "核实中", "agency": "qinghe-fgj"}
    assert client.post("/api/silences", json=body, headers=RO).status_code == 403
    assert client.post("/api/rescore", headers=RO).status_code == 403
    assert client.post("/api/notices/1/ack", headers=RO).status_code == 403
    with session_scope(seeded.db_url) as session:
        assert session.exec(select(Silence)).all() == []


def test_an_admin_token_silences_acks_and_resends(client, seeded):
    body = {"rule_id": "ARI-01", "until": "2026-12-31", "reason": "核实中", "agency": "qinghe-fgj"}
    assert client.post("/api/silences", json={**body, "until": "2020-01-01"}, headers=AUTH).status_code == 400
    assert client.post("/api/silences", json={**body, "agency": "nope"}, headers=AUTH).status_code == 400
    assert client.post("/api/silences", json={**body, "until": "tomorrow"}, headers=AUTH).status_code == 422
    assert client.post("/api/silences", json=body, headers=AUTH).status_code == 201
    fgj = client.get("/api/agencies", params={"q": "发展和改革"}, headers=AUTH).json()
    assert [a["silenced_rules"] for a in fgj] == [["ARI-01"]]

    with session_scope(seeded.db_url) as session:
        notice = session.exec(select(Notice).where(Notice.audience == "agency")).first()
        notice.status, notice.last_error = "failed", "503 from the provider"
        session.add(notice)
        session.commit()
        notice_id = notice.id
    before = len(seeded.endpoint.received)
    r = client.post(f"/api/notices/{notice_id}/resend", headers=AUTH)
    assert r.status_code == 200 and r.json()["notice"]["status"] == "sent"
    assert len(seeded.endpoint.received) == before + 1
    assert client.post(f"/api/notices/{notice_id}/resend", headers=AUTH).status_code == 409  # sent: nothing to re-send
    assert client.post(f"/api/notices/{notice_id}/ack", headers=AUTH).json() == {"ok": True}
    assert client.post(f"/api/notices/{notice_id}/ack", headers=AUTH).status_code == 409
    assert client.get(f"/api/notices/{notice_id}", headers=AUTH).json()["acked_by"] == "ci"

    rescored = client.post("/api/rescore", params={"agency": "qinghe-fgj"}, headers=AUTH).json()
    assert rescored["steps"]["evaluate"] == 2 and not rescored["errors"]
    repolled = client.post("/api/agencies/qinghe-fgj/repoll", headers=AUTH).json()
    assert repolled["steps"]["poll_source"] == 1
    assert client.post("/api/agencies/nope/repoll", headers=AUTH).status_code == 404


def test_api_calls_with_the_session_cookie_need_the_csrf_header(client):
    from tests.web.conftest import ADMIN

    csrf = login(client, ADMIN)
    body = {"rule_id": "ARI-01", "until": "2026-12-31", "reason": "核实中"}
    assert client.post("/api/silences", json=body).status_code == 403
    assert client.post("/api/silences", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/silences", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.get("/api/agencies").status_code == 200  # reading needs no token


def test_agency_text_is_escaped(client, seeded):
    with session_scope(seeded.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == "qinghe-fgj")).first()
        agency.name = '<script>alert("x")</script>局'
        session.add(agency)
        session.commit()
    from tests.web.conftest import VIEWER

    login(client, VIEWER)
    for path in ("/", "/agencies/qinghe-fgj", "/notices"):
        html = client.get(path).text
        assert "<script>alert" not in html, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;局" in client.get("/").text
