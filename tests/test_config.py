"""Settings and the agencies file: mistakes are caught at load time, named by file and line."""

import os
import subprocess
import sys

import pytest

from config.agencies import AgencyFileError, expand_env, parse_roster
from config.settings import Settings, SettingsError, load_settings
from tests.conftest import REPO

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


def test_rulemaking_may_be_stated_and_is_checked():
    stated = GOOD.replace("    level: department\n", "    level: department\n    rulemaking: false\n")
    assert parse_roster(stated, "a.yaml", env={"SMTP_PASSWORD": "x"}).agencies[0].rulemaking is False
    assert parse_roster(GOOD, "a.yaml", env={"SMTP_PASSWORD": "x"}).agencies[0].rulemaking is None  # from the name
    with pytest.raises(AgencyFileError) as info:
        parse_roster(stated.replace("rulemaking: false", "rulemaking: maybe"), "a.yaml", env={"SMTP_PASSWORD": "x"})
    assert "a.yaml:9: rulemaking 的值“maybe”不是 'true' 或 'false'" in str(info.value)


def test_every_mistake_is_reported_with_its_line_and_a_fix():
    bad = GOOD.replace("level: department", "levle: department").replace("kind: listing", "kind: lisitng")
    bad += "  - slug: Bad_Slug\n    name: x\n    level: goverment\n    sources: []\n"
    with pytest.raises(AgencyFileError) as info:
        parse_roster(bad, "agencies.yaml", env={"SMTP_PASSWORD": "x"})
    text = str(info.value)
    assert "agencies.yaml:8: 第1个单位中有不认识的键“levle” — 是否应为“level”？" in text
    assert "agencies.yaml:11: 不认识的栏目类型“lisitng”" in text
    assert "是否应为“government”？" in text
    assert "单位代码“Bad_Slug”" in text
    assert "sources 应为非空列表" in text
    assert len(info.value.problems) >= 5


def test_the_file_is_checked_without_its_secrets():
    """Secrets are read when a notice is sent: a missing one is a warning naming the line."""
    roster = parse_roster(GOOD, "a.yaml", env={})
    assert roster.office_notify == ["mailto://user:${SMTP_PASSWORD}@example.org"]
    assert [str(w) for w in roster.warnings] == [
        "a.yaml:4: 警示：office 部分的 notify引用了 ${SMTP_PASSWORD}，当前环境没有设置 — "
        "请在运行 nianbao 的环境中 export SMTP_PASSWORD=…（发送通知时读取：设置之前，发往这个地址的通知都会失败）"]


BAD_TARGETS = """\
office:
  name: 示范市政务公开办
  notify:
    - notaschema://foo
    - wecom://
    - mailtos://gkb:${SMTP_PASSWORD}@mail.example.gov.cn/?to=gkb@example.gov.cn
  admins:
    - {url: "jsn://hooks.example.org/admins", kinds: [admin]}
agencies:
  - slug: qinghe-fgj
    name: 青河区发展和改革局
    level: department
    sources:
      - url: https://www.qinghe.example.cn/fgj/gknb/
      - url: http://10.2.3.4/gknb/
      - url: https://files.qinghe.example.org/gknb/
    allowed_hosts: [qinghe.example.cn, qinghe.exmple.cn, 10.2.3.4]
    notify: [wecombot://, "dingtalk://${DING_TOKEN}"]
"""


def test_notice_targets_are_checked_by_apprise_with_line_and_fix():
    with pytest.raises(AgencyFileError) as info:
        parse_roster(BAD_TARGETS, "t.yaml", env={})
    errors = {p.line: str(p) for p in info.value.problems if p.level == "error"}
    assert errors[4].startswith("t.yaml:4: 通知接收地址“notaschema://foo”：没有名为 notaschema:// 的通知服务 — ")
    assert "wecom:// 是“Pushplus”服务，应写作 wecom://{token}" in errors[5]
    details = {p.line: p.detail for p in info.value.problems}
    assert "Pushplus token () is invalid" in details[5] and "invalid" not in errors[5]  # what Apprise said: for the log
    assert "是否应为 json://" in errors[8]
    assert "WeCom Bot" in errors[18] and "wecombot://{key}" in errors[18]
    assert 6 not in errors  # ${SMTP_PASSWORD} not set: checked with a placeholder, fine
    assert errors[16].startswith("t.yaml:16: 单位 qinghe-fgj：栏目主机 files.qinghe.example.org 不在其 allowed_hosts")
    warnings = {p.line: str(p) for p in info.value.problems if p.level == "warning"}
    assert "在内网或本机上" in warnings[15]
    assert "allowed_hosts 中的“qinghe.exmple.cn”与单位 qinghe-fgj的任何年报栏目都不对应" in warnings[17]
    assert "是否应为“www.qinghe.example.cn”？" in warnings[17]
    assert "${DING_TOKEN}" in warnings[18] and "${SMTP_PASSWORD}" in warnings[6]


def test_a_secret_that_breaks_its_url_is_named_but_never_shown():
    text = GOOD.replace("mailto://user:${SMTP_PASSWORD}@example.org", "mailtos://gkb:${SMTP_PASSWORD}@mail.example.org")
    with pytest.raises(AgencyFileError) as info:
        parse_roster(text, "s.yaml", env={"SMTP_PASSWORD": "p@ss/w0rd"})
    assert "填入环境变量 ${SMTP_PASSWORD} 的值后不是有效的网址" in str(info.value)
    assert "%40" in str(info.value) and "p@ss" not in str(info.value)
    assert parse_roster(text, "s.yaml", env={"SMTP_PASSWORD": "p%40ss%2Fw0rd"}).agencies


def test_shipped_agencies_files_pass_without_secrets(tmp_path):
    """deploy/agencies.yaml and the demo roster check clean on a machine without the secrets."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_PASSWORD", "NIANBAO_DEMO_BASE")}
    for name in ("deploy/agencies.yaml", "examples/agencies.yaml"):
        run = subprocess.run([sys.executable, "-m", "cli.main", "agencies", "check", "--no-resolve", name],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "单位名录无误" in run.stdout and "警示：" in run.stderr and "处错误" not in run.stderr


def test_dns_names_that_resolve_to_private_addresses_are_warned_about(tmp_path):
    from config.agencies import dns_warnings

    roster = parse_roster(GOOD.replace("https://www.qinghe.example.cn/fgj/gknb/", "http://localhost:8080/gknb/")
                          .replace("    notify: [json", "    allowed_hosts: [localhost]\n    notify: [json"),
                          "d.yaml", env={"SMTP_PASSWORD": "x"})
    assert any("内网或本机" in str(w) for w in roster.warnings)  # a name known without DNS
    import ipaddress
    import socket

    host = socket.gethostname()  # a name only the resolver knows (here /etc/hosts: 127.0.0.1)
    try:
        address = ipaddress.ip_address(socket.getaddrinfo(host, None)[0][4][0].split("%")[0])
    except OSError:
        pytest.skip(f"this machine's name {host} does not resolve")
    roster.agencies[0].sources[0].url = f"http://{host}:8080/gknb/"
    warned = dns_warnings(roster)
    if not (address.is_private or address.is_loopback):
        assert warned == []
        return
    assert len(warned) == 1 and f"单位 qinghe-fgj 的栏目主机 {host} 解析为内网或本机地址" in str(warned[0])


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
    assert f"{path}:8: 不认识的级别“bureau”" in run.stderr


def test_routing_targets_are_checked_and_selected():
    from notifications.routing import select_targets

    text = GOOD.replace("    notify: [json://hooks.example.org/fgj]\n", """    notify:
      - json://hooks.example.org/fgj
      - {url: "mailto://noreply@gk.example.cn?to=a@example.cn", kinds: [deficency], min_severity: fatal}
""")
    with pytest.raises(AgencyFileError) as info:
        parse_roster(text, "r.yaml", env={"SMTP_PASSWORD": "x"})
    assert "不认识的通知类别“deficency” — 是否应为“deficiency”？" in str(info.value)
    assert "不认识的严重程度“fatal”" in str(info.value)
    fixed = text.replace("deficency", "deficiency").replace("fatal", "error")
    targets = parse_roster(fixed, "r.yaml", env={"SMTP_PASSWORD": "x"}).agencies[0].notify
    assert select_targets(targets, "deficiency", "error") == ["json://hooks.example.org/fgj",
                                                              "mailto://noreply@gk.example.cn?to=a@example.cn"]
    assert select_targets(targets, "deficiency", "warning") == ["json://hooks.example.org/fgj"]
    assert select_targets(targets, "reminder", "error") == ["json://hooks.example.org/fgj"]
