"""`nianbao ingest FILE --agency SLUG`: a report handed in by other means."""

from __future__ import annotations

import re

from datetime import date

from sqlmodel import select
from typer.testing import CliRunner

from models import ExpectedReport, Report, Snapshot
from models.db import session_scope
from tests.polling.conftest import agency

REPORT = "{title}\n一、总体情况\n本局依法公开政府信息。\n二、主动公开政府信息情况\n见下表。\n五、存在的主要问题及改进情况\n无。\n"


def _cli(tmp_path, monkeypatch, rt):
    from config.settings import get_settings
    from worker import runtime

    for key, value in {"NIANBAO_DATABASE_URL": rt.db_url, "NIANBAO_HOME": str(tmp_path / "home"),
                       "NIANBAO_TODAY": "2026-06-30", "NIANBAO_BROKER_URL": "",
                       "NIANBAO_AGENCIES_FILE": str(tmp_path / "agencies.yaml")}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    runtime.set_runtime(None)


def test_ingest_stores_a_report_and_a_new_version_once(tmp_path, polling, monkeypatch):
    from cli.main import app
    from config.settings import get_settings
    from worker import runtime

    rt = polling([agency("jia", "http://127.0.0.1:9/nb/")], today=date(2026, 2, 10))
    for key, value in {"NIANBAO_DATABASE_URL": rt.db_url, "NIANBAO_HOME": str(tmp_path / "home"),
                       "NIANBAO_TODAY": "2026-02-10", "NIANBAO_BROKER_URL": ""}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    runtime.set_runtime(None)
    file = tmp_path / "jia-2025.txt"
    file.write_text(REPORT.format(title="甲局2025年政府信息公开工作年度报告"), encoding="utf-8")
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025",
                                    "--published", "2026-01-20"])
        assert first.exit_code == 0 and "报告 1（单位 jia）：已保存，已读取并评分" in first.output, first.output
        again = runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025"])
        assert again.exit_code == 0 and "报告 1（单位 jia）：与已保存的版本相同，未重复保存" in again.output
        file.write_text(REPORT.format(title="甲局2025年政府信息公开工作年度报告（修订）"), encoding="utf-8")
        assert runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025"]).exit_code == 0
        unknown = runner.invoke(app, ["ingest", str(file), "--agency", "nobody"])
        assert unknown.exit_code == 1 and "没有代码为 nobody 的单位" in unknown.output
    finally:
        get_settings.cache_clear()
        runtime.set_runtime(None)
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report)).one()
        snapshots = session.exec(select(Snapshot)).all()
        expected = session.exec(select(ExpectedReport)).one()
    assert (report.via, report.year, report.published_on, report.edit_count) == ("ingest", 2025, date(2026, 1, 20), 1)
    assert len(snapshots) == 2 and expected.state == "published" and expected.report_id == report.id


def test_ingest_refuses_what_is_no_report_and_stores_nothing(tmp_path, polling, monkeypatch):
    from cli.main import app
    from config.settings import get_settings
    from worker import runtime

    rt = polling([agency("jia", "http://127.0.0.1:9/nb/")], today=date(2026, 6, 30))
    _cli(tmp_path, monkeypatch, rt)
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 40)
    news = tmp_path / "news.html"
    news.write_text("<html><head><title>我局召开安全生产工作会议</title></head><body><h1>我局召开安全生产工作会议</h1>"
                    "<p>3月5日，我局召开全局安全生产工作会议，部署下一阶段重点工作。</p></body></html>", encoding="utf-8")
    runner = CliRunner()
    try:
        refused = runner.invoke(app, ["ingest", str(noise), "--agency", "jia", "--year", "2025"])
        assert refused.exit_code == 1 and "noise.bin：文件格式无法读取" in refused.output and "未保存" in refused.output
        page = runner.invoke(app, ["ingest", str(news), "--agency", "jia", "--year", "2025"])
        assert page.exit_code == 1 and "news.html：不是政府信息公开工作年度报告：这是另一类文件（“我局召开安全生产工作会议”）" in page.output
        assert not re.search(r"[A-Za-z]{4,}", refused.output.replace("noise.bin", "").replace("HTML", "").replace("DOCX", ""))
    finally:
        get_settings.cache_clear()
        runtime.set_runtime(None)
    with session_scope(rt.db_url) as session:
        assert session.exec(select(Report)).all() == [] and session.exec(select(Snapshot)).all() == []
    blobs = tmp_path / "home" / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))


def test_another_agencys_report_waits_for_a_person_and_sends_nothing(tmp_path, polling, monkeypatch, shared_fixtures):
    """hongze-2024.pdf (淮安市洪泽区人民政府, 2024) filed as 松林县人民政府's 2025 report."""
    from cli.main import app
    from config.settings import get_settings
    from models import Evaluation, Notice
    from worker import runtime
    from worker.status import agency_statuses

    rt = polling([agency("songlin-xian", "http://127.0.0.1:9/nb/", level="government", name="松林县人民政府")],
                 today=date(2026, 6, 30))
    _cli(tmp_path, monkeypatch, rt)
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["ingest", str(shared_fixtures / "hongze-2024.pdf"), "--agency", "songlin-xian",
                                     "--year", "2025"])
        assert result.exit_code == 0, result.output
        assert "待人工确认" in result.output and "淮安市洪泽区人民政府" in result.output and "2024年度" in result.output
        rescored = runner.invoke(app, ["rescore"])
        assert rescored.exit_code == 0, rescored.output
    finally:
        get_settings.cache_clear()
        runtime.set_runtime(None)
    with session_scope(rt.db_url) as session:
        snapshot = session.exec(select(Snapshot)).one()
        assert snapshot.parse_status == "needs_review" and "松林县人民政府" in snapshot.parse_error
        assert snapshot.parsed["meta"]["agency"] == "淮安市洪泽区人民政府"  # kept for the person who checks
        assert session.exec(select(Evaluation)).all() == [] and session.exec(select(Notice)).all() == []
        row = next(r for r in agency_statuses(session, date(2026, 6, 30)) if r.slug == "songlin-xian")
        assert row.state == "needs_review" and row.score is None and "淮安市洪泽区人民政府" in row.detail
        assert session.exec(select(Report)).one().title == ""  # not the other agency's title


def test_another_agencys_report_does_not_hide_the_agencys_own(tmp_path, polling, monkeypatch, shared_fixtures):
    """松林县人民政府's own 2025 report is scored; then 洪泽区's PDF is filed as its 2025 report too.
    The misfiled document waits for a person; it does not turn the year into 同年多份待确认, which
    hid the agency's score and verdict."""
    from cli.main import app
    from config.settings import get_settings
    from models import ExpectedReport
    from tests.conftest import EXAMPLES
    from worker import runtime
    from worker.status import agency_statuses

    rt = polling([agency("songlin-xian", "http://127.0.0.1:9/nb/", level="government", name="松林县人民政府")],
                 today=date(2026, 6, 30))
    _cli(tmp_path, monkeypatch, rt)
    runner = CliRunner()
    try:
        own = runner.invoke(app, ["ingest", str(EXAMPLES / "portals/songlin-xian/nb2025.html"), "--agency", "songlin-xian",
                                  "--published", "2026-03-26"])
        assert own.exit_code == 0, own.output
        other = runner.invoke(app, ["ingest", str(shared_fixtures / "hongze-2024.pdf"), "--agency", "songlin-xian",
                                    "--year", "2025"])
        assert other.exit_code == 0 and "待人工确认" in other.output, other.output
    finally:
        get_settings.cache_clear()
        runtime.set_runtime(None)
    with session_scope(rt.db_url) as session:
        row = next(r for r in agency_statuses(session, date(2026, 6, 30)) if r.slug == "songlin-xian")
        assert row.state == "published" and row.score is not None, (row.state, row.detail)
        assert "另有1份文件待人工确认" in row.detail
    from worker.pipeline import refresh_expectations

    refresh_expectations(rt)  # as the deadline check does, on its schedule
    with session_scope(rt.db_url) as session:
        expected = session.exec(select(ExpectedReport)).one()
        assert expected.state == "published" and not expected.ambiguous and expected.report_id is not None
