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
    assert "无法读取" not in out and not re.search("(?<!等)待读取", out), out  # old: 无法读取 待读取 (the parse status)
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
