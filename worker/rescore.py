"""Re-evaluating stored snapshots with the current rules (`nianbao rescore`).

Embedded engine: each snapshot runs through the same `evaluate` step in this process, and
the steps it leads to (plan_notices, deliver) run too, exactly as in a cycle. Distributed
engine: one `nianbao.evaluate` task per snapshot is enqueued, and workers (which reload the
rules when the files change) do the rest. The step is keyed by (snapshot, ruleset version),
so re-scoring under unchanged rules changes nothing and is safe to repeat.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from sqlmodel import select

from models import Report, Snapshot
from models.db import session_scope
from worker.runtime import Runtime
from worker.steps import Next

Progress = Callable[[int, int], None]  # (done, total)


def snapshots_to_rescore(db_url: str, *, all_versions: bool = False) -> list[int]:
    """Parsed snapshots, and those still waiting to be read (evaluate hands them to parsing
    first): each report's current version, or every stored version."""
    with session_scope(db_url) as session:
        query = select(Snapshot.id).where(Snapshot.parse_status.in_(("parsed", "pending")))
        if not all_versions:
            query = query.join(Report, Report.latest_snapshot_id == Snapshot.id)
        return list(session.exec(query.order_by(Snapshot.id)))


@dataclass
class RescoreReport:
    snapshots: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    enqueued: int = 0
    ruleset_version: str = ""


def rescore_embedded(rt: Runtime, ids: list[int], progress: Progress | None = None) -> RescoreReport:
    from worker.runner import CycleReport, drain

    report = RescoreReport(ruleset_version=rt.rules.current().version)
    cycle = CycleReport()
    for done, snapshot_id in enumerate(ids, 1):
        drain(rt, deque([Next("evaluate", snapshot_id)]), cycle)
        report.snapshots += 1
        if progress:
            progress(done, len(ids))
    report.steps = dict(cycle.steps)
    report.errors = cycle.errors + cycle.transient
    return report


def enqueue_rescore(ids: list[int], progress: Progress | None = None) -> RescoreReport:
    from worker.tasks import enqueue

    report = RescoreReport()
    for done, snapshot_id in enumerate(ids, 1):
        enqueue([Next("evaluate", snapshot_id)])
        report.enqueued += 1
        if progress:
            progress(done, len(ids))
    return report
