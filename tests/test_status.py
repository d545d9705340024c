"""`nianbao status` says what is true: a step that never ran is work waiting, not a broken
document or missing rules; the checks below the table name each part's real state."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque

from tests.conftest import REPO
from worker import cycle, pipeline


def cycle_losing(rt, lost: set[str]) -> None:
    """A full cycle in which every message for the `lost` steps vanishes (a broker restarted
    without persistence, a worker killed between its commit and the hand-on)."""
    queue = deque(cycle.start(rt, all_sources=True).polls)
    while queue:
        step = queue.popleft()
        if step.step not in lost:
            queue.extend(pipeline.run_step(rt, step.step, step.arg))


def status(rt, *args: str, env: dict | None = None) -> str:
    s = rt.settings
    extra, env = env or {}, {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    env.update(**extra, NIANBAO_DATABASE_URL=rt.db_url, NIANBAO_HOME=str(s.home), NIANBAO_AGENCIES_FILE=str(s.agencies_file),
               NIANBAO_TODAY=rt.today().isoformat(), NIANBAO_ALLOW_PRIVATE_HOSTS="1", COLUMNS="250")
    run = subprocess.run([sys.executable, "-m", "cli.main", "status", *args], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def line_of(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if name in line)


def test_a_parsed_report_never_scored_is_waiting_not_missing_rules(rt):
    cycle_losing(rt, {"evaluate"})
    out = status(rt)
    row = out[out.index("松林县人民政府"):out.index("松林县人民政府") + 400]
    assert "没有可用的规则" not in out and "处理中" in row and "已读取，等待评分" in row, out
    assert "规则文件：正常，已载入" in out


def test_a_document_never_read_is_waiting_not_unreadable(rt):
    cycle_losing(rt, {"parse_snapshot"})
    out = status(rt)
    table = out[:out.index("运行情况")]
    assert "无法读取" not in table and not re.search("(?<!等)待读取", table), out  # old: 无法读取 待读取 (parse status)
    assert out.count("已抓取，等待读取") == 5, out  # every agency that published (the sixth has no report)


def test_the_checks_name_the_broken_rule_file_and_only_it(rt, tmp_path):
    cycle_losing(rt, set())
    out = status(rt)
    for line in ("数据库：可以连接", "任务队列：不使用（嵌入式运行", "规则文件：正常，已载入", "单位名录：正常",
                 "上次巡检："):
        assert line in out, (line, out)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "arithmetic.yaml").write_text("- id: ARI-99\n  title: 测试\n  severty: error\n", encoding="utf-8")
    out = status(rt, env={"NIANBAO_RULES_DIR": str(rules)})
    assert "规则文件有误" in out and "arithmetic.yaml:" in out and "nianbao rules check" in out, out
    assert "规则文件：正常" not in out
    assert "未评分" not in out  # every report was scored: broken files are named below, not as any report's cause


def row_of(out: str, name: str) -> str:
    """An agency's row in the status table (its name's line and the one below it)."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if name in line)
    return "\n".join(lines[at:at + 2])


def test_a_scored_report_whose_deficiencies_were_never_drawn_up_is_waiting(rt):
    """Old: 90 分, 0 / 0 / 0 open and 已按期发布, as if the report's two errors had been judged harmless."""
    cycle_losing(rt, {"plan_notices"})
    out = status(rt)
    fgj = row_of(out, "青河区发展和改革局")
    assert "90分" in fgj and "0 / 0 / 0" in fgj and "处理中" in fgj and "已评分，等待生成整改项和通知" in fgj, out
    assert "待生成通知 11 项，最早的已等待" in out, out  # under the table, every version's (2024's too), with its age


def test_work_past_its_lease_and_given_up_is_said_with_the_command_that_retries_it(rt):
    from datetime import timedelta

    from models.types import utcnow
    from worker.reconciler import reconcile

    from sqlmodel import update

    from models.db import session_scope
    from models.report import Snapshot

    cycle_losing(rt, {"parse_snapshot"})
    with session_scope(rt.db_url) as session:  # every lost parse has waited a minute (not "whatever the clock did")
        session.exec(update(Snapshot).where(Snapshot.work_state == "parse")
                     .values(state_since=utcnow() - timedelta(minutes=1)))
        session.commit()
    out = status(rt, env={"NIANBAO_LEASE_PARSE": "30"})
    assert "待读取 11 项" in out and "其中 11 项超时（将自动重新派发）" in out, out  # stuck, and said so

    rt.settings.max_attempts = 1
    later = utcnow() + timedelta(hours=1)
    reconcile(rt, now=later)  # handed out again… and lost again
    reconcile(rt, now=later + timedelta(hours=1))  # given up
    out = status(rt)
    assert row_of(out, "青河区发展和改革局").count("处理失败") == 1 and out.count("处理失败") == 5, out
    stopped = [line for line in out.splitlines() if "已停止：" in line]
    assert len(stopped) == 11 and all("nianbao retry snapshot " in line for line in stopped), out

    # What README says to do: find the cause, then retry; the work goes through and status is clear.
    s = rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    env.update(NIANBAO_DATABASE_URL=rt.db_url, NIANBAO_HOME=str(s.home), NIANBAO_AGENCIES_FILE=str(s.agencies_file),
               NIANBAO_TODAY=rt.today().isoformat(), NIANBAO_ALLOW_PRIVATE_HOSTS="1")
    retried = subprocess.run([sys.executable, "-m", "cli.main", "retry", "--failed"], capture_output=True, text=True,
                             cwd=REPO, env=env, timeout=120)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    out = status(rt)
    assert "处理失败" not in out and "已停止" not in out and "处理中" not in out, out
    assert "90分" in row_of(out, "青河区发展和改革局")


def test_a_report_whose_fetch_failed_says_why_and_when_it_is_fetched_again(rt):
    """A failed fetch is not lost work: the report is fetched again when its page is next polled
    successfully (on the site's schedule, not every lease), and status says so, with the time."""
    from sqlmodel import select

    from models import Report, Source
    from models.db import session_scope
    from notifications.dates import cn_datetime

    (rt.portals.root / "qinghe-fgj" / "nb2025.html").unlink()  # the report's page is gone: 404
    cycle_losing(rt, set())
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report).where(Report.status == "fetch_failed")).one()
        source = session.get(Source, report.source_id)
    out = re.sub(r"[\s│.]+", "", status(rt))  # the table wraps the cell over lines
    row = out[out.index("抓取失败"):out.index("抓取失败") + 300]
    when = cn_datetime(source.next_poll_at).replace(" ", "")
    assert f"下次成功轮询该栏目（{when}）时自动重新抓取" in row, out
    assert f"nianbaoretryreport{report.id}" in row and "页面不存在" in row
    assert "fetch_failed" not in out and "None" not in out
