"""Rules across the stored reports: previous-year context, `rules diff`, `rescore`, `score`."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from models import Agency, Evaluation, Report, Snapshot
from models.db import session_scope
from rules import LIBRARY, load_ruleset
from tests.conftest import make_runtime, write_roster
from worker.runner import run_cycle


@pytest.fixture
def rt(tmp_path, db_url, portals, endpoint):
    roster = write_roster(tmp_path / "agencies.yaml", portals.base, endpoint)
    rules = tmp_path / "rules"
    shutil.copytree(LIBRARY, rules)
    runtime = make_runtime(tmp_path, db_url, roster)
    runtime.settings.rules_dir = rules
    runtime.rules.directory = rules
    run_cycle(runtime)
    return runtime


def latest_ids(rt):
    with session_scope(rt.db_url) as session:
        return sorted(session.exec(select(Snapshot.id).join(Report, Report.latest_snapshot_id == Snapshot.id)
                                   .where(Snapshot.parse_status == "parsed")))


def test_previous_year_report_is_the_context_of_history_rules(rt):
    from worker.scoring import context_for

    with session_scope(rt.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == "songlin-xian")).one()
        report = session.exec(select(Report).where(Report.agency_id == agency.id, Report.year == 2025)).one()
        parsed, ctx = context_for(session, session.get(Snapshot, report.latest_snapshot_id))
    assert ctx.year == 2025 and ctx.previous is not None and ctx.previous.meta["year"] == 2024
    assert parsed.meta["year"] == 2025


def test_rescore_is_idempotent_and_follows_a_rule_change(rt):
    from worker.rescore import rescore_embedded, snapshots_to_rescore

    ids = snapshots_to_rescore(rt.db_url)
    assert ids == latest_ids(rt) and ids
    with session_scope(rt.db_url) as session:
        before = len(session.exec(select(Evaluation)).all())
    result = rescore_embedded(rt, ids)
    assert result.snapshots == len(ids) and not result.errors
    with session_scope(rt.db_url) as session:
        assert len(session.exec(select(Evaluation)).all()) == before  # same rules: nothing new
    # An admin changes a weight: the worker picks the new version up without a restart.
    rules = rt.rules.directory / "text.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("weight: 10\n  category: text", "weight: 12\n  category: text", 1),
                     encoding="utf-8")
    seen = []
    result = rescore_embedded(rt, ids, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(ids), len(ids))
    with session_scope(rt.db_url) as session:
        versions = {e.ruleset_version for e in session.exec(select(Evaluation))}
        assert len(versions) == 2 and result.ruleset_version in versions
        assert len(session.exec(select(Evaluation).where(Evaluation.ruleset_version == result.ruleset_version)).all()) == len(ids)


def test_rules_diff_shows_findings_appearing_and_disappearing(rt, tmp_path):
    from worker.rulediff import diff_rulesets

    proposed_dir = tmp_path / "proposed"
    shutil.copytree(LIBRARY, proposed_dir)
    text = (proposed_dir / "text.yaml").read_text(encoding="utf-8")
    start = text.index("- id: TXT-03")
    end = text.index("- id: TXT-08")
    (proposed_dir / "text.yaml").write_text(text[:start] + text[end:], encoding="utf-8")  # drop TXT-03
    shutil.rmtree(proposed_dir / "tests")
    current, proposed = load_ruleset(LIBRARY), load_ruleset(proposed_dir)
    with session_scope(rt.db_url) as session:
        stored = len(session.exec(select(Snapshot).where(Snapshot.parse_status == "parsed")).all())
    diff = diff_rulesets(rt.db_url, current, proposed)
    assert diff.snapshots == stored and not diff.errors
    qu = [c for c in diff.changes if c.agency_slug == "qinghe-qu"]
    assert qu and any(f.rule_id == "TXT-03" for c in qu for f in c.disappeared)
    assert all(c.score_after >= c.score_before for c in diff.changes)
    assert diff.by_rule()["TXT-03"][1] >= 1 and diff.to_dict()["by_rule"]["TXT-03"]["appeared"] == 0
    # Comparing a ruleset with itself changes nothing.
    assert diff_rulesets(rt.db_url, current, current).changes == []


def test_cli_score_json_and_rules_commands(tmp_path, shared_fixtures, monkeypatch):
    from cli.main import app

    monkeypatch.setenv("NIANBAO_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(shared_fixtures / "000_0408e1d58f05bafb.txt"), "--level", "government",
                                 "--published", "2022-03-20", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = {f["rule_id"] for f in data["findings"] if f["status"] == "fail"}
    assert {"TXT-03", "STR-01", "TXT-04", "FMT-01", "TIM-03"} <= ids and not ids & {"ARI-01", "ARI-02", "ARI-03"}
    assert sum(f["points"] for f in data["findings"]) == 100 - data["score"]
    assert all(f["evidence"] for f in data["findings"])
    previous = runner.invoke(app, ["score", str(shared_fixtures / "000_0408e1d58f05bafb.txt"), "--previous",
                                   str(shared_fixtures / "000_0408e1d58f05bafb.txt"), "--json"])
    assert previous.exit_code == 0 and "XY-03" in previous.stdout  # the same report twice is 雷同
    assert runner.invoke(app, ["rules", "check", str(LIBRARY)]).exit_code == 0
    assert runner.invoke(app, ["rules", "test", str(LIBRARY)]).exit_code == 0
    bad = tmp_path / "bad"
    shutil.copytree(LIBRARY, bad)
    (bad / "extra.yaml").write_text("- id: TXT-03\n  title: 重复\n  severity: error\n  category: text\n"
                                    "  basis: {text: x, status: VERIFIED}\n"
                                    "  check: {kind: expression, assert: apply.new.totl == 0}\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert "未知的字段键 'apply.new.totl' — 是否想写 'apply.new.total'？" in result.output
