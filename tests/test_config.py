"""Settings and the agencies file: mistakes are caught at load time, named by file and line."""

import subprocess
import sys

import pytest

from config.agencies import AgencyFileError, expand_env, parse_roster
from config.settings import Settings, SettingsError, load_settings

GOOD = """\
office:
  name: 示范市政务公开办
  notify:
    - mailto://user:${SMTP_PASSWORD}@example.org
agencies:
  - slug: qinghe-fgj
    name: 青河区发展和改革局
    level: department
    sources:
      - url: https://www.qinghe.example.cn/fgj/gknb/
        kind: listing
    notify: [json://hooks.example.org/fgj]
"""


def test_good_file_loads_and_keeps_secrets_unexpanded():
    roster = parse_roster(GOOD, "a.yaml", env={"SMTP_PASSWORD": "s3cret"})
    assert roster.office_notify == ["mailto://user:${SMTP_PASSWORD}@example.org"]
    agency = roster.agencies[0]
    assert agency.allowed_hosts == ["www.qinghe.example.cn"]  # defaults to the sources' hosts
    assert expand_env(roster.office_notify[0], {"SMTP_PASSWORD": "s3cret"}) == "mailto://user:s3cret@example.org"


def test_every_mistake_is_reported_with_its_line_and_a_fix():
    bad = GOOD.replace("level: department", "levle: department").replace("kind: listing", "kind: lisitng")
    bad += "  - slug: Bad_Slug\n    name: x\n    level: goverment\n    sources: []\n"
    with pytest.raises(AgencyFileError) as info:
        parse_roster(bad, "agencies.yaml", env={"SMTP_PASSWORD": "x"})
    text = str(info.value)
    assert "agencies.yaml:8: unknown key 'levle' in agency #1 — did you mean 'level'?" in text
    assert "agencies.yaml:11: unknown source kind 'lisitng'" in text
    assert "did you mean 'government'?" in text
    assert "slug 'Bad_Slug'" in text
    assert "sources must be a non-empty list" in text
    assert len(info.value.problems) >= 5


def test_missing_secret_is_an_error_at_load_time_not_at_delivery():
    with pytest.raises(AgencyFileError) as info:
        parse_roster(GOOD, "a.yaml", env={})
    assert "a.yaml:4:" in str(info.value) and "${SMTP_PASSWORD}" in str(info.value)


def test_broken_yaml_names_the_line():
    with pytest.raises(AgencyFileError) as info:
        parse_roster("office:\n  name: x\n agencies: [\n", "b.yaml", env={})
    assert str(info.value).startswith("b.yaml:")


def test_invalid_settings_fail_at_start_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("NIANBAO_BROKER_URL", "http://not-a-broker")
    monkeypatch.setenv("NIANBAO_FETCH_TIMEOUT", "-3")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "NIANBAO_BROKER_URL" in str(info.value) and "NIANBAO_FETCH_TIMEOUT" in str(info.value)


def test_default_is_embedded_sqlite_under_var(monkeypatch, tmp_path):
    monkeypatch.delenv("NIANBAO_BROKER_URL", raising=False)
    monkeypatch.delenv("NIANBAO_DATABASE_URL", raising=False)
    settings = Settings(home=tmp_path)
    assert settings.embedded and settings.db_url == f"sqlite:///{tmp_path / 'nianbao.db'}"
    assert Settings(database_url="postgresql://u@h/db").db_url.startswith("postgresql+psycopg://")


def test_cli_agencies_check(tmp_path):
    path = tmp_path / "agencies.yaml"
    path.write_text(GOOD.replace("level: department", "level: bureau"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "cli.main", "agencies", "check", str(path)],
                         capture_output=True, text=True, env={"SMTP_PASSWORD": "x", "PATH": ""})
    assert run.returncode == 1
    assert f"{path}:8: unknown level 'bureau'" in run.stderr


def test_routing_targets_are_checked_and_selected():
    from notifications.routing import select_targets

    text = GOOD.replace("    notify: [json://hooks.example.org/fgj]\n", """    notify:
      - json://hooks.example.org/fgj
      - {url: "mailto://gk.example.cn?to=a@example.cn", kinds: [deficency], min_severity: fatal}
""")
    with pytest.raises(AgencyFileError) as info:
        parse_roster(text, "r.yaml", env={"SMTP_PASSWORD": "x"})
    assert "unknown notice kind 'deficency' — did you mean 'deficiency'?" in str(info.value)
    assert "unknown severity 'fatal'" in str(info.value)
    fixed = text.replace("deficency", "deficiency").replace("fatal", "error")
    targets = parse_roster(fixed, "r.yaml", env={"SMTP_PASSWORD": "x"}).agencies[0].notify
    assert select_targets(targets, "deficiency", "error") == ["json://hooks.example.org/fgj",
                                                              "mailto://gk.example.cn?to=a@example.cn"]
    assert select_targets(targets, "deficiency", "warning") == ["json://hooks.example.org/fgj"]
    assert select_targets(targets, "reminder", "error") == ["json://hooks.example.org/fgj"]
