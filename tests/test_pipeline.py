"""The whole embedded pipeline against real HTTP portals and a real notification endpoint,
on SQLite and PostgreSQL: agency page → report → snapshot → findings → deficiencies → notices."""

from __future__ import annotations

import shutil
from collections import Counter, deque

from sqlmodel import select

from models import Deficiency, Evaluation, Health, Notice, Report, Snapshot, Source
from models.db import session_scope
from tests.conftest import EXAMPLES, make_runtime
from worker import pipeline
from worker.runner import run_cycle
from worker.status import agency_statuses

EXPECTED_STATES = {
    "qinghe-qu": "published",
    "songlin-xian": "published",
    "qinghe-fgj": "published",
    "songlin-jyj": "late",
    "qinghe-sthj": "missing",
    "songlin-wjw": "published",
}



def statuses(rt):
    with session_scope(rt.db_url) as session:
        return {row.slug: row for row in agency_statuses(session, rt.today())}


def open_cases(rt):
    with session_scope(rt.db_url) as session:
        rows = session.exec(select(Deficiency).where(Deficiency.state == "open"))
        return Counter((d.agency_id, d.rule_id) for d in rows)


def db_summary(url):
    """Everything a cycle produced, by natural keys (ids differ between databases)."""
    with session_scope(url) as session:
        return {
            "reports": sorted((r.url.split("/", 3)[-1], r.year, str(r.published_on)) for r in session.exec(select(Report))),
            "snapshots": sorted((s.sha256, s.parse_status) for s in session.exec(select(Snapshot))),
            "evaluations": sorted((e.score, e.failed) for e in session.exec(select(Evaluation))),
            "deficiencies": sorted((d.year, d.rule_id, d.subject, d.state) for d in session.exec(select(Deficiency))),
            "notices": sorted((n.kind, n.audience, n.subject, n.status) for n in session.exec(select(Notice))),
        }


def test_one_cycle_finds_each_agencys_state_and_notifies_once(rt):
    report = run_cycle(rt)
    assert not report.errors and not report.transient
    states = statuses(rt)
    assert {slug: row.state for slug, row in states.items()} == EXPECTED_STATES
    assert states["songlin-xian"].score == 100 and states["songlin-xian"].open_errors == 0
    assert states["qinghe-fgj"].open_errors == 2  # ARI-01 breaks in 自然人 and 总计
    ep = rt.endpoint
    fgj = ep.to("qinghe-fgj")
    assert len(fgj) == 1 and "【整改通知】" in fgj[0]["title"] and "ARI-01" in fgj[0]["message"]
    assert "自然人" in fgj[0]["message"] and "总计" in fgj[0]["message"]
    assert len(ep.to("songlin-jyj")) == 1 and "TIM-01" in ep.to("songlin-jyj")[0]["message"]
    assert len(ep.to("qinghe-sthj")) == 1 and "TIM-02" in ep.to("qinghe-sthj")[0]["message"]
    qu = ep.to("qinghe-qu")
    assert len(qu) == 1 and "TXT-03" in qu[0]["message"]
    # 23 received = 21 on time + 2 lawfully extended (条例 第三十三条第二款): no accusation of late replies.
    assert "TIM-03" not in qu[0]["message"] and "未说明是否在法定期限内答复" not in qu[0]["message"]
    assert ep.to("songlin-xian") == []
    # wjw's blank 法人 columns: the identities read them as 0 (its 总计 agree), the blanks are a warning.
    wjw = ep.to("songlin-wjw")
    assert len(wjw) == 1 and "FMT-02" in wjw[0]["message"] and "没有则填0" in wjw[0]["message"]
    assert states["songlin-wjw"].score == 98 and states["songlin-wjw"].coverage == 100
    # One alert to the office per report with errors or missing report (qu, fgj, jyj, sthj), and the digest.
    office = ep.to("office")
    assert sorted(m["title"][:6] for m in office) == ["【年报监测】"] * 4 + ["【年报监测汇"]
    # What nianbao could not evaluate goes to the admins, never to the agency.
    assert all("未能评估" in m["title"] for m in ep.to("admins"))
    with session_scope(rt.db_url) as session:
        assert all(n.status == "sent" for n in session.exec(select(Notice)))


def test_polling_again_with_nothing_changed_sends_nothing(rt):
    run_cycle(rt)
    before = db_summary(rt.db_url)
    sent = len(rt.endpoint.received)
    report = run_cycle(rt)
    assert db_summary(rt.db_url) == before
    assert len(rt.endpoint.received) == sent
    assert report.steps["parse_snapshot"] == 0  # unchanged documents are not parsed again


def test_corrected_republication_is_rescored_and_resolved(rt):
    run_cycle(rt)
    corrected = EXAMPLES / "corrected" / "qinghe-fgj" / "nb2025.html"
    published = next((rt.portals.root / "qinghe-fgj").rglob("nb2025.html"))
    shutil.copyfile(corrected, published)
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        cases = session.exec(select(Deficiency).where(Deficiency.rule_id == "ARI-01")).all()
        assert cases and all(c.state == "resolved" for c in cases)
        snapshots = session.exec(select(Snapshot)).all()
    assert statuses(rt)["qinghe-fgj"].open_errors == 0
    messages = rt.endpoint.to("qinghe-fgj")
    assert len(messages) == 2 and "【整改完成】" in messages[1]["title"] and "ARI-01" in messages[1]["message"]
    assert any("已整改" in m["title"] or "已整改" in m["message"] for m in rt.endpoint.to("office"))
    assert len({s.sha256 for s in snapshots}) == len(snapshots)


def test_every_step_run_twice_leaves_the_same_rows_as_one_clean_run(rt, tmp_path):
    clean = make_runtime(tmp_path / "clean", f"sqlite:///{tmp_path / 'clean.db'}", rt.settings.agencies_file)
    from models.db import migrate

    migrate(clean.db_url)
    run_cycle(clean)
    sent_clean = len(rt.endpoint.received)

    # The same cycle, but every task is delivered twice (as a broker may do).
    pipeline.refresh_roster(rt)
    queue = deque(pipeline.due_sources(rt, all_sources=True))
    while queue:
        step = queue.popleft()
        first = pipeline.run_step(rt, step.step, step.arg)
        pipeline.run_step(rt, step.step, step.arg)
        queue.extend(first)
    from worker.delivery import pending_notices
    from worker.digest import send_digest
    from worker.followup import follow_up
    from worker.planning import check_deadlines

    periodic = check_deadlines(rt) + check_deadlines(rt) + follow_up(rt) + follow_up(rt)
    periodic += send_digest(rt) + send_digest(rt)
    for step in periodic + pending_notices(rt):
        pipeline.run_step(rt, step.step, step.arg)
        pipeline.run_step(rt, step.step, step.arg)
    assert db_summary(rt.db_url) == db_summary(clean.db_url)
    assert len(rt.endpoint.received) == 2 * sent_clean  # the clean run's notices, and ours: once each


def test_notices_survive_an_endpoint_outage_and_arrive_once(rt):
    from datetime import timedelta

    from models import DeliveryAttempt

    rt.endpoint.down = True
    report = run_cycle(rt)
    assert report.transient  # recorded and left for a later cycle, with a backoff
    with session_scope(rt.db_url) as session:
        planned = len(session.exec(select(Notice)).all())
        pending = session.exec(select(Notice).where(Notice.status == "pending")).all()
        # qu, fgj, jyj, sthj: notice + alert each; wjw's notice (blank cells); the digest
        assert planned == 10 and len(pending) == planned
        assert all("503" in n.last_error and n.next_attempt_at for n in pending)
        attempts = session.exec(select(DeliveryAttempt)).all()
        assert len(attempts) == planned and not any(a.ok for a in attempts)
        assert all("json://127.0.0.1" in a.targets and "503" in a.error for a in attempts)
    run_cycle(rt)  # still inside the backoff: no new attempt
    with session_scope(rt.db_url) as session:
        assert len(session.exec(select(DeliveryAttempt)).all()) == planned
    rt.endpoint.down = False
    rt.settings.today += timedelta(days=1)  # the next day: every backoff has passed
    run_cycle(rt)
    run_cycle(rt)
    assert len(rt.endpoint.received) == planned
    assert len({(m["path"], m["title"]) for m in rt.endpoint.received}) == planned


def test_bad_inputs_end_as_recorded_statuses(rt, tmp_path):
    run_cycle(rt)
    # A report replaced by a page that is not a report; a listing that disappears.
    news = "<html><body><h1>关于开展植树活动的通知</h1><p>各单位：请于3月12日参加植树。</p></body></html>"
    next((rt.portals.root / "songlin-xian").rglob("*.html")).parent  # the portal exists
    page = _report_file(rt, "songlin-xian")
    page.write_text(news, encoding="utf-8")
    (rt.portals.root / "songlin-jyj" / "index.html").unlink()
    run_cycle(rt)
    states = statuses(rt)
    assert states["songlin-xian"].state == "unreadable" and states["songlin-xian"].detail == "不是年度报告"
    assert "HTTP 404" in states["songlin-jyj"].fetch
    # A broken agencies file keeps the last good roster and says why.
    rt.settings.agencies_file.write_text("office: [\n", encoding="utf-8")
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        health = session.get(Health, "agencies")
        assert not health.ok and "不是有效的 YAML" in health.message
        assert len(session.exec(select(Source).where(Source.active == True)).all()) == 6  # noqa: E712


def _report_file(rt, slug):
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report).join(Source, Report.source_id == Source.id)
                              .where(Report.year == 2025, Source.url.contains(f"/{slug}/"))).first()
    return rt.portals.root / report.url.split(rt.portals.base + "/", 1)[1]


def test_a_broken_rule_file_is_reported_and_the_last_good_rules_keep_working(rt, tmp_path):
    from rules import LIBRARY

    rules_dir = tmp_path / "rules"
    shutil.copytree(LIBRARY, rules_dir)
    rt.rules.directory = rules_dir
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        version = session.exec(select(Evaluation)).first().ruleset_version
    (rules_dir / "structure.yaml").write_text("- id: STR-01\n  severty: error\n", encoding="utf-8")
    corrected = EXAMPLES / "corrected" / "qinghe-fgj" / "nb2025.html"
    shutil.copyfile(corrected, next((rt.portals.root / "qinghe-fgj").rglob("nb2025.html")))
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        health = session.get(Health, "rules")
        assert not health.ok and "structure.yaml:2" in health.message and "severity" in health.message
        assert {e.ruleset_version for e in session.exec(select(Evaluation))} == {version}
    assert statuses(rt)["qinghe-fgj"].open_errors == 0  # the correction was still scored


def test_with_no_valid_rules_reports_stay_unscored_and_say_why(rt, tmp_path):
    rules_dir = tmp_path / "empty-rules"
    rules_dir.mkdir()
    (rules_dir / "bad.yaml").write_text("- id: [\n", encoding="utf-8")
    rt.rules.directory = rules_dir
    report = run_cycle(rt)
    assert report.errors and "bad.yaml" in report.errors[0]
    states = statuses(rt)
    assert states["songlin-xian"].state == "not_scored"
    with session_scope(rt.db_url) as session:
        # Without rules nothing is judged, not even a missing report: only the digest, which says so.
        assert sorted(n.dedup_key.split(":")[0] for n in session.exec(select(Notice))) == ["digest"]
        assert not session.get(Health, "rules").ok
