"""The value types of the rule engine: Rule, RuleSet, Context, Outcome, Evaluation.

Plain dataclasses, so the worker can store them and tests can build them by hand.
Must not load files or evaluate anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from rules.deadlines import LEVELS, parse_override

SEVERITIES = ("error", "warning", "info")
STATUSES = ("pass", "fail", "not_evaluated")
WHEN_MISSING = ("not_evaluated", "skip", "fail", "zero")
BASIS_STATUSES = ("VERIFIED", "CORROBORATED", "IMPLIED", "UNVERIFIED")
TEMPLATES = ("2021", "2019")
CATEGORIES = ("structure", "format", "arithmetic", "timeliness", "text", "fees", "plausibility",
              "cross_year", "accessibility")
DEFAULT_WEIGHTS = {"error": 10, "warning": 5, "info": 0}
# Facts about a report or its agency that a rule may depend on. A rule that needs one the
# reading (or the roster, or the command line) did not establish does not run: it ends
# "not evaluated", saying which fact was missing (rules/engine.py).
FACTS = {
    "level": "单位级别（人民政府或部门）",
    "year": "报告年度",
    "template": "报告采用的格式（2021年格式或2019年试行格式）",
    "table_template": "表格所用的格式（表格本身未显示是2021年格式还是2019年试行格式）",
    "rulemaking": "本单位是否有规章制定权",
}


@dataclass(frozen=True)
class Applies:
    """Which reports a rule is for. Empty tuples mean "all"."""

    levels: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    since: int | None = None  # first report year, inclusive
    until: int | None = None  # last report year, inclusive

    def overlaps(self, other: "Applies") -> bool:
        """Whether some report could match both (used to tell variants from duplicates)."""
        def meet(a: tuple, b: tuple) -> bool:
            return not a or not b or bool(set(a) & set(b))
        lo = max(x for x in (self.since, other.since, -1) if x is not None)
        hi = min(x for x in (self.until, other.until, 10**6) if x is not None)
        return meet(self.levels, other.levels) and meet(self.templates, other.templates) and lo <= hi


@dataclass
class Rule:
    id: str
    title: str
    severity: str
    weight: int
    category: str
    basis: dict[str, str]
    kind: str
    params: Any  # the kind's compiled parameters (see rules/kinds.py)
    applies: Applies = field(default_factory=Applies)
    when_missing: str = "not_evaluated"
    message: str | None = None
    weight_each: int | None = None  # points per failed outcome; capped at weight per rule
    file: str = ""
    line: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # normalized source, for the version hash
    needs: frozenset[str] = frozenset()  # the FACTS it depends on (its applies, its kind, its fields)


@dataclass
class RuleSet:
    rules: list[Rule]
    version: str
    scoring: Any  # rules.scoring.Scoring
    source: str = ""

    def __post_init__(self) -> None:
        self._by_id: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self._by_id.setdefault(rule.id, []).append(rule)

    def get(self, rule_id: str) -> list[Rule]:
        """All variants of a rule id (usually one)."""
        return self._by_id.get(rule_id, [])

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)


@dataclass(frozen=True)
class Context:
    agency_name: str
    agency_level: str | None  # "government" | "department"; None: not known (rules needing it do not run)
    year: int | None  # the year reported on; None: not known
    published_on: date | None = None
    deadline_override: str | None = None  # "MM-DD", a stricter local deadline
    # The same agency's report on the year before (history rules); None when unknown.
    previous: Any = field(default=None, compare=False, hash=False)  # ParsedReport | None
    # May the agency make 规章? None: inferred from its name and level (rules/identity.py),
    # which may leave it unknown (a 市人民政府 may or may not be a 设区的市).
    rulemaking: bool | None = None

    def __post_init__(self) -> None:
        if self.agency_level is not None and self.agency_level not in LEVELS:
            raise ValueError(f"agency_level must be one of {LEVELS} or None, not {self.agency_level!r}")
        if self.deadline_override:
            parse_override(self.deadline_override)


@dataclass
class Outcome:
    rule_id: str
    subject: str  # "" for whole-report rules; (rule_id, subject) is a finding's natural key
    status: str  # pass | fail | not_evaluated
    severity: str
    title: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    weight: int = 0
    category: str = ""
    basis: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evaluation:
    outcomes: list[Outcome]
    score: int
    grade: str
    lost: list[tuple[str, str, int]]  # (rule_id, subject, points); sums to 100 - score
    ruleset_version: str = ""
    # Share (0–1) of the applicable checks, weighted, that could be evaluated; None when no
    # weighted rule applied. A grade above scoring.yaml's best_grade_low_coverage needs enough.
    coverage: float | None = None

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "fail"]

    def outcome(self, rule_id: str, subject: str = "") -> Outcome | None:
        return next((o for o in self.outcomes if o.key == (rule_id, subject)), None)
