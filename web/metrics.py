"""Prometheus metrics computed at scrape time: from the database (every worker writes there)
and from the checks (database and broker reached now, rule files loaded now)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from models.db import session_scope


class DatabaseCollector:
    def __init__(self, rt):
        self.rt = rt

    def collect(self):
        from web.queries import metrics_snapshot
        from worker.checks import all_checks

        checks = {c.component: c for c in all_checks(self.rt)}
        up = GaugeMetricFamily("nianbao_up", "1 when the component answers now (database, broker; embedded: no broker, 1)",
                               labels=["component"])
        for name in ("database", "broker"):
            up.add_metric([name], 1 if checks[name].ok else 0)
        yield up
        rules = checks["rules"]
        yield GaugeMetricFamily("nianbao_rules_ok", "1 when every rule file loads", value=1 if rules.ok else 0)
        yield GaugeMetricFamily("nianbao_rules_loaded", "Rules this process scores with (the last good ones when the "
                                "files are broken)", value=rules.count or 0)
        broken = GaugeMetricFamily("nianbao_rules_problems", "Problems in the rule files, by file:line",
                                   labels=["location"])
        for location, n in sorted(Counter(p.split(": ", 1)[0] for p in rules.problems).items()):
            broken.add_metric([location], n)
        yield broken
        if not checks["database"].ok:
            return  # the rest is read from the database
        yield GaugeMetricFamily("nianbao_agencies_ok", "1 when the agencies file was read without problems",
                                value=1 if checks["agencies"].ok else 0)
        cycle = checks["cycle"]
        if cycle.at:
            yield GaugeMetricFamily("nianbao_cycle_last_finished_timestamp_seconds", "When the last full cycle finished",
                                    value=datetime.fromisoformat(cycle.at).timestamp())
        yield from work_metrics(self.rt)
        with session_scope(self.rt.db_url) as session:
            m = metrics_snapshot(session)
        yield GaugeMetricFamily("nianbao_evaluations", "Evaluations stored", value=m["evaluations"])
        yield GaugeMetricFamily("nianbao_polled_sources", "Sources polled at least once", value=m["polls"])
        notices = GaugeMetricFamily("nianbao_notices", "Notices by delivery status", labels=["status"])
        for status, n in sorted(m["notices"].items()):
            notices.add_metric([status], n)
        yield notices
        parse = GaugeMetricFamily("nianbao_snapshots", "Snapshots by parse status", labels=["status"])
        for status, n in sorted(m["parse"].items()):
            parse.add_metric([status], n)
        yield parse
        sources = GaugeMetricFamily("nianbao_sources", "Active sources by fetch status", labels=["status"])
        for status, n in sorted(m["sources"].items()):
            sources.add_metric([status], n)
        yield sources
        yield GaugeMetricFamily("nianbao_fetch_failures", "Sources failing plus reports whose fetch failed",
                                value=m["sources"].get("failed", 0) + m["reports_fetch_failed"])
        yield GaugeMetricFamily("nianbao_queue_depth", "Notices waiting to be sent", value=m["queue_depth"])


def work_metrics(rt):
    """Per step: items waiting, past their lease, the oldest one's age, given up; unknown notices;
    the reconciler's last run."""
    from worker.checks import work

    b, _age, _stale = work(rt)
    families = {name: GaugeMetricFamily(f"nianbao_work_{name}", text, labels=["step"]) for name, text in (
        ("waiting", "Items owing this step"), ("overdue", "Items waiting past the step's lease (handed out again)"),
        ("oldest_seconds", "Age of the oldest item waiting"), ("failed", "Items given up (retry by hand)"))}
    for s in b.steps:
        families["waiting"].add_metric([s.step], s.waiting)
        families["overdue"].add_metric([s.step], s.overdue)
        families["oldest_seconds"].add_metric([s.step], s.oldest_seconds or 0)
        families["failed"].add_metric([s.step], s.failed)
    yield from families.values()
    yield GaugeMetricFamily("nianbao_notices_unknown", "Notices whose delivery outcome is unknown, not yet acted on",
                            value=b.unknown_total)
    if b.reconciled_at:
        yield GaugeMetricFamily("nianbao_reconciler_last_run_timestamp_seconds", "When the reconciler last ran",
                                value=datetime.fromisoformat(b.reconciled_at).timestamp())


def metrics_response(rt) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(rt))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
