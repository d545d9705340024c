"""`nianbao cycle` and beat's first cycle on the distributed engine, for real: a Redis broker,
Celery worker processes, beat, three agency portals over HTTP (one agency has not published its
2025 report, past its deadline) and a local endpoint receiving the notices."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.test_cycle import plain_chinese_offences
from tests.integration.cluster import running_cluster

pytestmark = pytest.mark.integration
SLUGS = ["qinghe-fgj", "songlin-xian", "qinghe-sthj"]


@pytest.fixture
def cluster(tmp_path, db_url, redis_url, endpoint):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    with running_cluster(tmp_path, db_url, redis_url, endpoint, SLUGS, clean, COLUMNS="200") as c:
        yield c


def expected_notices(ep) -> None:
    fgj, sthj = ep.to("qinghe-fgj"), ep.to("qinghe-sthj")
    assert len(fgj) == 1 and "ARI-01" in fgj[0]["message"], fgj
    assert len(sthj) == 1 and "催报" in sthj[0]["title"], sthj  # missing, told the same day
    assert ep.to("songlin-xian") == []


def test_cycle_command_hands_a_full_cycle_to_the_workers_and_waits(cluster):
    cluster.start_worker()
    run = subprocess.run([sys.executable, "-m", "cli.main", "cycle"], capture_output=True, text=True, cwd=REPO,
                         env=cluster.env, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "已把巡检交给后台工作进程" in run.stdout and "巡检完成" in run.stdout, run.stdout
    assert "轮询来源 3 个" in run.stdout and "通知：已发送 5 条" in run.stdout, run.stdout
    expected_notices(cluster.endpoint)  # delivered before the command returned
    assert not plain_chinese_offences(run.stdout), plain_chinese_offences(run.stdout)
    office = sorted(m["title"] for m in cluster.endpoint.to("office"))  # the error alert, the missing report's, the digest
    assert len(office) == 3 and any("逾期未公布" in t for t in office) and any("汇总" in t for t in office), office

    # Started again: nothing is due, nothing is sent twice.
    again = subprocess.run([sys.executable, "-m", "cli.main", "cycle"], capture_output=True, text=True, cwd=REPO,
                           env=cluster.env, timeout=240)
    assert again.returncode == 0 and "轮询来源 0 个" in again.stdout, again.stdout + again.stderr
    assert len(cluster.endpoint.received) == 5


def test_beat_runs_a_full_cycle_when_it_starts(cluster, tmp_path):
    """Beat's periodic polls come 5 minutes after it starts and the deadline check at 08:00; a
    deployment started at noon still hears of a missing report within seconds."""
    cluster.start_worker()
    log = open(tmp_path / "beat.log", "w")
    cluster.others.append(subprocess.Popen([sys.executable, "-m", "cli.main", "beat"], cwd=REPO, env=cluster.env,
                                           stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(cluster.endpoint.received) < 4:
        time.sleep(0.5)
    cluster.settle()
    expected_notices(cluster.endpoint)
