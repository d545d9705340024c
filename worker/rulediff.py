"""What a proposed ruleset would change: every stored parsed snapshot scored with the
current and with the proposed rules, side by side (findings appearing and disappearing,
score and grade per agency and report), before the change is deployed.

Read-only: nothing is written to the database. Used by `nianbao rules diff`, and meant for
the web UI as well, so it returns plain data and does no printing.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from sqlmodel import select

from models import Agency, Report, Snapshot
from models.db import session_scope
from notifications.labels import error_said
from worker.scoring import context_for

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
FILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.ya?ml")
MAX_PROPOSED_BYTES = 256 * 1024


class ProposalError(ValueError):
    """The proposed change cannot be tried (bad file name, too large); the message is shown as is."""


@dataclass
class FindingView:
    rule_id: str
    subject: str
    status: str  # fail | not_evaluated
    severity: str
    message: str
    points: float = 0  # what it costs the score


@dataclass
class Reweighed:
    """A finding present under both rulesets whose severity or cost changes (e.g. TIM-03 made an error)."""

    rule_id: str
    subject: str
    status: str
    message: str
    severity_before: str
    severity_after: str
    points_before: float
    points_after: float


@dataclass
class SnapshotDiff:
    snapshot_id: int
    agency_slug: str
    agency_name: str
    year: int | None
    url: str
    latest: bool  # the report's current version
    score_before: int
    score_after: int
    grade_before: str
    grade_after: str
    appeared: list[FindingView] = field(default_factory=list)
    disappeared: list[FindingView] = field(default_factory=list)
    reweighed: list[Reweighed] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.appeared or self.disappeared or self.reweighed or self.score_before != self.score_after
                    or self.grade_before != self.grade_after)


@dataclass
class RuleDiff:
    current_version: str
    proposed_version: str
    snapshots: int = 0
    errors: list[str] = field(default_factory=list)
    changes: list[SnapshotDiff] = field(default_factory=list)  # only snapshots that change

    def by_rule(self) -> dict[str, tuple[int, int]]:
        """rule id -> (findings appearing, findings disappearing) over all snapshots."""
        up, down = Counter(), Counter()
        for change in self.changes:
            up.update(f.rule_id for f in change.appeared)
            down.update(f.rule_id for f in change.disappeared)
        return {rid: (up[rid], down[rid]) for rid in sorted(set(up) | set(down))}

    def reweighed_by_rule(self) -> dict[str, int]:
        """rule id -> findings whose severity or cost changes."""
        return dict(sorted(Counter(f.rule_id for c in self.changes for f in c.reweighed).items()))

    def to_dict(self) -> dict:
        data = asdict(self)
        reweighed = self.reweighed_by_rule()
        data["by_rule"] = {k: {"appeared": a, "disappeared": d, "reweighed": reweighed.get(k, 0)}
                           for k, (a, d) in self.by_rule().items()}
        for rid, n in reweighed.items():
            data["by_rule"].setdefault(rid, {"appeared": 0, "disappeared": 0, "reweighed": n})
        data["by_rule"] = dict(sorted(data["by_rule"].items()))
        return data


def _findings(result) -> dict[tuple[str, str, str], FindingView]:
    lost: Counter = Counter()
    for rule_id, subject, points in result.lost:
        lost[(rule_id, subject)] += points
    return {(o.rule_id, o.subject, o.status): FindingView(o.rule_id, o.subject, o.status, o.severity, o.message,
                                                          lost[(o.rule_id, o.subject)])
            for o in result.outcomes if o.status != "pass"}


def _reweighed(old: dict, new: dict) -> list[Reweighed]:
    out = []
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        if a.severity != b.severity or a.points != b.points:
            out.append(Reweighed(b.rule_id, b.subject, b.status, b.message, a.severity, b.severity, a.points, b.points))
    return out


def diff_rulesets(db_url: str, current, proposed, *, latest_only: bool = False, year: int | None = None,
                  progress: Progress | None = None) -> RuleDiff:
    """Score every parsed snapshot (or only each report's latest, or one report year's) with both rulesets."""
    from rules import evaluate

    diff = RuleDiff(current.version, proposed.version)
    with session_scope(db_url) as session:
        query = select(Snapshot.id).where(Snapshot.parse_status == "parsed").order_by(Snapshot.id)
        # Filtered here, not after loading every old version.
        if latest_only:
            query = query.join(Report, Report.latest_snapshot_id == Snapshot.id)
        elif year is not None:
            query = query.join(Report, Report.id == Snapshot.report_id)
        if year is not None:
            query = query.where(Report.year == year)
        ids = list(session.exec(query))
        total = len(ids)
        for done, snapshot_id in enumerate(ids, 1):
            snapshot = session.get(Snapshot, snapshot_id)
            report = session.get(Report, snapshot.report_id)
            latest = report.latest_snapshot_id == snapshot.id
            if latest_only and not latest:
                continue
            agency = session.get(Agency, report.agency_id)
            try:
                parsed, ctx = context_for(session, snapshot)
                before, after = evaluate(current, parsed, ctx), evaluate(proposed, parsed, ctx)
            except Exception as exc:  # one unreadable snapshot must not hide the rest of the preview
                log.warning("rules diff: snapshot %s could not be scored", snapshot_id, exc_info=True)
                diff.errors.append(f"{agency.name}的年报版本 {snapshot_id} 无法评分："
                                   f"{error_said(f'{type(exc).__name__}: {exc}')}")
                continue
            diff.snapshots += 1
            old, new = _findings(before), _findings(after)
            change = SnapshotDiff(snapshot.id, agency.slug, agency.name, report.year, report.url, latest,
                                  before.score, after.score, before.grade, after.grade,
                                  appeared=[new[k] for k in sorted(new.keys() - old.keys())],
                                  disappeared=[old[k] for k in sorted(old.keys() - new.keys())],
                                  reweighed=_reweighed(old, new))
            if change.changed:
                diff.changes.append(change)
            if progress:
                progress(done, total)
    diff.changes.sort(key=lambda c: (c.agency_slug, c.year or 0, c.snapshot_id))
    return diff


def load_proposal(rules_dir: str | Path, file_name: str, content: str):
    """The ruleset ``rules_dir`` would be with ``file_name`` replaced by ``content`` (added when
    new, removed when ``content`` is blank), loaded from a scratch copy: the live rules are never
    touched. Raises ProposalError, or RuleFileError with every problem of the proposed files."""
    from rules import load_ruleset

    if not FILE_NAME.fullmatch(file_name or ""):
        raise ProposalError("文件名只能由字母、数字、下划线和连字符组成，并以 .yaml 结尾")
    if len(content.encode()) > MAX_PROPOSED_BYTES:
        raise ProposalError(f"规则文件超过 {MAX_PROPOSED_BYTES // 1024} KB")
    source = Path(rules_dir)
    with tempfile.TemporaryDirectory(prefix="nianbao-proposal-") as scratch:
        target = Path(scratch) / "rules"  # problems then read "rules/<file>:<line>"
        target.mkdir()
        files = [source] if source.is_file() else [p for p in source.iterdir() if p.is_file()]
        for path in files:
            if path.suffix in (".yaml", ".yml"):
                shutil.copy2(path, target / path.name)
        if content.strip():
            (target / file_name).write_text(content.replace("\r\n", "\n"), encoding="utf-8")
        else:
            (target / file_name).unlink(missing_ok=True)
        return load_ruleset(target)
