"""Prometheus metrics computed from the database at scrape time (every worker writes there)."""

from __future__ import annotations

from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from models.db import session_scope


class DatabaseCollector:
    def __init__(self, rt):
        self.rt = rt

    def collect(self):
        from web.queries import metrics_snapshot

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


def metrics_response(rt) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(rt))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
