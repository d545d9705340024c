"""/healthz and /metrics say what is true now: the database and the broker reached (or not), the
rule files loaded or broken at file:line, the agencies file and the last cycle as recorded."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from tests.conftest import make_runtime


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_healthy_embedded_deployment(app):
    with TestClient(app) as client:
        health = client.get("/healthz")
        metrics = client.get("/metrics").text
    body = health.json()
    assert health.status_code == 200 and body["ok"] is True and body["problems"] == []
    assert body["database"]["ok"] and body["broker"]["state"] == "not_used"
    assert body["rules"]["state"] == "ok" and body["rules"]["count"] > 50
    assert body["agencies"]["ok"] and body["cycle"]["ok"] and body["cycle"]["at"]
    assert 'nianbao_up{component="database"} 1.0' in metrics and 'nianbao_up{component="broker"} 1.0' in metrics
    assert "nianbao_rules_ok 1.0" in metrics and "nianbao_rules_problems{" not in metrics
    assert "nianbao_cycle_last_finished_timestamp_seconds " in metrics


def test_an_unreachable_broker_and_a_broken_rule_file_are_named(seeded, accounts, tmp_path):
    from web.app import create_app

    loaded = len(seeded.rules.current().rules)  # the last good rules the process keeps scoring with
    rules = tmp_path / "broken-rules"
    rules.mkdir()
    (rules / "arithmetic.yaml").write_text("- id: ARI-99\n  title: 测试\n  severty: error\n", encoding="utf-8")
    seeded.rules.directory = rules
    seeded.settings.broker_url = f"redis://:s3cret@127.0.0.1:{closed_port()}/0"
    with TestClient(create_app(seeded, accounts, secret="x")) as client:
        health = client.get("/healthz")
        metrics = client.get("/metrics").text
    body = health.json()
    assert health.status_code == 200 and body["ok"] is False  # the dashboard itself still works
    assert sorted(body["problems"]) == ["broker_unreachable", "rules_broken"]
    assert body["broker"]["state"] == "unreachable" and "s3cret" not in health.text
    assert body["rules"]["count"] == loaded
    assert "broken-rules/arithmetic.yaml:3: 规则中有未知的键 'severty' — 是否想写 'severity'？" in body["rules"]["problems"]
    assert all(p.startswith("broken-rules/arithmetic.yaml:") for p in body["rules"]["problems"])  # not the count line
    assert 'nianbao_up{component="broker"} 0.0' in metrics and "nianbao_rules_ok 0.0" in metrics
    assert 'nianbao_rules_problems{location="broken-rules/arithmetic.yaml:3"} 1.0' in metrics
    assert f"nianbao_rules_loaded {float(loaded)}" in metrics


def test_an_unreachable_database_is_503_and_says_so(tmp_path, accounts):
    from web.app import create_app

    rt = make_runtime(tmp_path, f"postgresql+psycopg://u:pw@127.0.0.1:{closed_port()}/x", tmp_path / "none.yaml")
    with TestClient(create_app(rt, accounts, secret="x")) as client:
        health = client.get("/healthz")
        metrics = client.get("/metrics")
    assert health.status_code == 503 and health.json()["database"]["state"] == "unreachable" and "pw" not in health.text
    assert metrics.status_code == 200 and 'nianbao_up{component="database"} 0.0' in metrics.text


def test_work_waiting_past_its_lease_and_given_up_is_in_the_probe_and_the_metrics(rt, accounts):
    from datetime import timedelta

    from models.types import utcnow
    from tests.test_status import cycle_losing
    from web.app import create_app
    from worker.reconciler import reconcile

    cycle_losing(rt, {"plan_notices"})
    rt.settings.lease_plan = 1
    import time

    time.sleep(1.5)
    with TestClient(create_app(rt, accounts, secret="x")) as client:
        body = client.get("/healthz").json()
        metrics = client.get("/metrics").text
    assert body["ok"] is False and "work_overdue" in body["problems"]
    assert body["work"]["plan"]["waiting"] == 11 and body["work"]["plan"]["overdue"] == 11  # 2024's versions too
    assert body["work"]["plan"]["oldest_seconds"] >= 1
    assert 'nianbao_work_waiting{step="plan"} 11.0' in metrics and 'nianbao_work_overdue{step="plan"} 11.0' in metrics

    rt.settings.max_attempts = 1
    later = utcnow() + timedelta(hours=1)
    reconcile(rt, now=later)
    reconcile(rt, now=later + timedelta(hours=1))
    with TestClient(create_app(rt, accounts, secret="x")) as client:
        body = client.get("/healthz").json()
        metrics = client.get("/metrics").text
    assert "work_failed" in body["problems"] and len(body["failed"]) == 11
    assert all(f["step"] == "plan" and f["retry"] == f"nianbao retry evaluation {f['id']}" for f in body["failed"])
    assert 'nianbao_work_failed{step="plan"} 11.0' in metrics
    assert "nianbao_reconciler_last_run_timestamp_seconds " in metrics and body["reconciler"]["last_run"]
