"""The `nianbao` command as a user runs it."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def nianbao(*args, cwd=REPO, env=None):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_parse_json_of_the_real_pingqiao_report(shared_fixtures):
    run = nianbao("parse", str(shared_fixtures / "000_0408e1d58f05bafb.txt"), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["meta"]["year"] == 2021 and data["meta"]["template"] == "2021"
    assert data["fields"]["apply.new.total"] == 18 and data["fields"]["review.corrected"] == 1
    assert data["narrative"]["requests_received"]["value"] == 18
    assert any(p["kind"] == "column_count" for p in data["problems"])


def test_score_json_of_the_real_pingqiao_report(shared_fixtures):
    run = nianbao("score", str(shared_fixtures / "000_0408e1d58f05bafb.txt"), "--level", "government",
                  "--published", "2022-01-20", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    failed = {o["rule_id"] for o in data["findings"] if o["status"] == "fail"}
    # Section 六 is empty, 工作考核/社会评议/责任追究 are not reported, and 以以会代训 is a typo.
    assert {"STR-01", "TXT-03", "TXT-11", "FMT-01", "TIM-03"} <= failed and not any(r.startswith("ARI") for r in failed)
    assert data["score"] < 100


def test_score_speaks_to_people_and_groups_what_it_could_not_judge(shared_fixtures):
    """洪泽区 2024 (a single （六）其他处理 row): its rows are named as the table names them, and
    what could not be judged is one group with the reason said once."""
    import re

    run = nianbao("score", str(shared_fixtures / "hongze-2024.pdf"), env={"COLUMNS": "400"})
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "单位级别：人民政府（由单位名称中的“人民政府”推断" in out and "报告年度：2024（取自标题）" in out
    assert "第三部分表格缺少（六）其他处理 1.申请人无正当理由逾期不补正" in out
    assert "未能评估的检查（1 项，不扣分，也不会通知该单位）" in out and "  未能确定发布日期（1 项）" in out
    assert "ARI-0" not in out and "·未能评估】" not in out  # its single （六） row is summed as the whole of （六）
    assert not re.search(r"\b(?:apply|other|review)\.[a-z_]+", out), out


def test_parse_refuses_a_page_that_is_not_a_report(tmp_path):
    page = tmp_path / "news.html"
    page.write_text("<html><body><h1>关于开展植树活动的通知</h1><p>各单位：请参加。</p></body></html>", encoding="utf-8")
    run = nianbao("parse", str(page))
    assert run.returncode == 1 and "这是另一类文件（“关于开展植树活动的通知”），不是年度报告" in run.stderr
    assert "not_a_report" not in run.stderr  # the status code stays in logs and the API


def test_demo_shows_every_agency_and_the_notices(tmp_path):
    run = nianbao("demo", cwd=tmp_path, env={"COLUMNS": "160"})  # var/demo is created where the user stands
    assert run.returncode == 0, run.stderr
    # The demo's portals are on loopback, which it allows: no warning in English about them.
    assert "private or loopback" not in run.stdout + run.stderr and "warning" not in run.stderr
    for name in ("青河区人民政府", "松林县人民政府", "青河区发展和改革局", "松林县教育局", "青河区生态环境局",
                 "松林县卫生健康委员会"):
        assert name in run.stdout
    assert "共 10 条通知（已发送 10 条）" in run.stdout and "逾期未发布" in run.stdout
    outbox = tmp_path / "var/demo/outbox"
    # A notice to each agency with a problem (wjw: its blank 法人 columns, which the identities
    # read as 0), an alert per agency with an error, and the digest; everything could be evaluated.
    assert sorted(p.name for p in outbox.iterdir()) == ["office", "qinghe-fgj", "qinghe-qu", "qinghe-sthj",
                                                        "songlin-jyj", "songlin-wjw"]
    assert len(list((outbox / "office").glob("*.txt"))) == 5 and len(list((outbox / "office").glob("*.csv"))) == 1
    (fgj_file,) = (tmp_path / "var/demo/outbox/qinghe-fgj").glob("*.txt")
    fgj = fgj_file.read_text(encoding="utf-8")
    assert "ARI-01" in fgj and "表三“一、本年新收”行自然人列：31 件" in fgj
    # Dated on the demo's day, and fetched on it too (the snapshot was stamped with the real clock).
    assert "2026年6月30日抓取的版本" in fgj and fgj.rstrip().endswith("2026年6月30日")
    assert fgj_file.name.endswith("整改通知_青河区发展和改革局2025年政府信息公开工作年度报告存在2项问题.txt")
    # One clock: every time the demo recorded (polled, fetched, opened, sent …) and every outbox file
    # name is on the demo's day (the overview said 今天 6月30日 beside 最近抓取 on the real day).
    assert all(p.name.startswith("20260630-") for p in outbox.rglob("*") if p.is_file())
    from sqlalchemy import create_engine, inspect, select

    from models.types import OFFICE_TZ, UTCDateTime

    from sqlmodel import SQLModel

    import models  # noqa: F401  (the tables)

    engine = create_engine(f"sqlite:///{tmp_path / 'var/demo/nianbao.db'}")

    seen = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if not inspect(engine).has_table(table.name):
                continue
            for column in table.columns:
                if isinstance(column.type, UTCDateTime) and not column.name.startswith("next_"):  # not plans
                    for (value,) in conn.execute(select(column).where(column.is_not(None))):
                        day = value.astimezone(OFFICE_TZ).date().isoformat()
                        seen.setdefault(f"{table.name}.{column.name}", set()).add(day)
    engine.dispose()
    assert {"source.last_polled_at", "notice.sent_at"} <= set(seen), sorted(seen)
    assert {k: v for k, v in seen.items() if v != {"2026-06-30"}} == {}


def test_status_json_and_rules_commands(tmp_path):
    env = {"NIANBAO_HOME": str(tmp_path), "NIANBAO_AGENCIES_FILE": str(tmp_path / "none.yaml")}
    run = nianbao("status", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["agencies"] == []
    assert nianbao("rules", "check").returncode == 0
    test_run = nianbao("rules", "test")
    assert test_run.returncode == 0 and "全部规则测试用例通过" in test_run.stdout
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "r.yaml").write_text("- id: X-01\n  titel: 测试\n", encoding="utf-8")
    check = nianbao("rules", "check", str(broken))
    assert check.returncode == 1 and "r.yaml:2" in check.stderr


def test_invalid_setting_stops_at_start_with_its_name():
    run = nianbao("status", env={"NIANBAO_DATABASE_URL": "mysql://x"})
    assert run.returncode == 2 and "NIANBAO_DATABASE_URL" in run.stderr


def test_web_demo_opens_the_dashboard_on_the_demos_data_with_a_printed_account(tmp_path):
    """`make web`: the demo's data (the demo runs first when it has not), a demo account printed."""
    import re
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NIANBAO_WEB_USERS": "", "COLUMNS": "160"}
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "web", "--demo", "--port", str(port)], cwd=tmp_path,
                              env={**env, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        said, password = "", None
        deadline = time.monotonic() + 180
        while password is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            said += line
            match = re.search(r"演示账户：用户名 demo，密码 (\S+)（管理员", line)
            password = match.group(1) if match else None
        assert password, said
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < deadline:
                try:
                    page = client.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            client.post("/login", data={"username": "demo", "password": password, "csrf_token": token, "next": "/"})
            overview = client.get("/").text
        assert "2025年度政府信息公开工作年度报告总览" in overview and len(re.findall(r"<tr data-slug=", overview)) == 6
        assert (tmp_path / "var/demo/nianbao.db").is_file()
    finally:
        server.terminate()
        server.wait(timeout=20)
