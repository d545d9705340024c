"""`nianbao ingest FILE --agency SLUG`: a report handed in by other means."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from typer.testing import CliRunner

from models import ExpectedReport, Report, Snapshot
from models.db import session_scope
from tests.polling.conftest import agency


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
    file.write_text("甲局2025年政府信息公开工作年度报告\n一、总体情况\n", encoding="utf-8")
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025",
                                    "--published", "2026-01-20"])
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025"])
        assert again.exit_code == 0 and "report 1 of jia: stored" in again.output
        file.write_text("甲局2025年政府信息公开工作年度报告（修订）\n一、总体情况\n", encoding="utf-8")
        assert runner.invoke(app, ["ingest", str(file), "--agency", "jia", "--year", "2025"]).exit_code == 0
        unknown = runner.invoke(app, ["ingest", str(file), "--agency", "nobody"])
        assert unknown.exit_code == 1 and "no agency with slug 'nobody'" in unknown.output
    finally:
        get_settings.cache_clear()
        runtime.set_runtime(None)
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report)).one()
        snapshots = session.exec(select(Snapshot)).all()
        expected = session.exec(select(ExpectedReport)).one()
    assert (report.via, report.year, report.published_on, report.edit_count) == ("ingest", 2025, date(2026, 1, 20), 1)
    assert len(snapshots) == 2 and expected.state == "published" and expected.report_id == report.id
