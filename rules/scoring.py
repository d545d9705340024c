"""Scores and grades: 100 minus the points of failed outcomes, explained point by point.

Each failed outcome costs its rule's ``weight_each`` (default: the rule's ``weight``), but a
rule never loses more than its ``weight`` in total, so a for_each rule failing in all seven
columns costs its weight once. ``scoring.yaml`` (optional, next to the rule files) may cap
the loss per category and sets the grade thresholds:

    category_caps: {arithmetic: 30, text: 15}   # at most 30 points lost to arithmetic rules
    category_weights: {format: 50}              # percent of each rule's weight (default 100)
    grades: {优: 90, 良: 75, 中: 60, 差: 0}       # lowest score for each grade
    best_grade_with_errors: 良                  # a report with a failed error rule grades no better
    min_coverage: 80                            # percent of the applicable checks, weighted, ...
    best_grade_low_coverage: 中                 # ... below which a report grades no better
    blank_cells: zero                           # zero | absent: blank cells of a filled row or column

"not_evaluated" and "pass" lose nothing. ``lost`` lists (rule_id, subject, points) for every
point lost and always sums to 100 - score. ``coverage_of`` says how much of the report the
rules could judge: each rule's weight is shared by its outcomes, and the evaluated share of
the applicable weight is the coverage. Must not evaluate rules or load rule files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from rules.model import CATEGORIES, Outcome
from rules.params import Issues, check_keys
from rules.yamlmarks import line_of

BASE = 100
DEFAULT_GRADES = (("优", 90), ("良", 75), ("中", 60), ("差", 0))
BLANK_POLICIES = ("zero", "absent")
KEYS = ("category_caps", "category_weights", "grades", "best_grade_with_errors", "min_coverage",
        "best_grade_low_coverage", "blank_cells")


@dataclass(frozen=True)
class Scoring:
    category_caps: dict[str, int] = field(default_factory=dict)
    category_weights: dict[str, int] = field(default_factory=dict)  # percent of the rules' weights
    grades: tuple[tuple[str, int], ...] = DEFAULT_GRADES  # (grade, lowest score), best first
    # A score adds points up; a grade is read as a verdict, and 优 for a report with an error misleads.
    best_grade_with_errors: str | None = None
    # Nor may a report earn 优 or 良 on what the rules could not judge.
    min_coverage: int = 0  # percent
    best_grade_low_coverage: str | None = None
    blank_cells: str = "zero"

    def final_grade(self, score: int, has_errors: bool, coverage: float | None = None) -> str:
        grade = self.grade(score)
        names = [name for name, _ in self.grades]
        caps = []
        if has_errors:
            caps.append(self.best_grade_with_errors)
        if coverage is not None and coverage * 100 < self.min_coverage - 1e-9:
            caps.append(self.best_grade_low_coverage)
        for cap in caps:
            if cap in names and names.index(grade) < names.index(cap):
                grade = cap
        return grade

    def grade(self, score: int) -> str:
        for name, lowest in self.grades:
            if score >= lowest:
                return name
        return self.grades[-1][0]

    def normalized(self) -> dict:
        return {"category_caps": dict(sorted(self.category_caps.items())),
                "category_weights": dict(sorted(self.category_weights.items())),
                "grades": [list(g) for g in self.grades], "best_grade_with_errors": self.best_grade_with_errors,
                "min_coverage": self.min_coverage, "best_grade_low_coverage": self.best_grade_low_coverage,
                "blank_cells": self.blank_cells}

    def cost(self, category: str, points: int) -> int:
        """A rule's points after its category's weight (rounded half up)."""
        percent = self.category_weights.get(category, 100)
        return int(points * percent / 100 + 0.5)


def _points(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= BASE


def parse_scoring(data, issues: Issues) -> Scoring:
    if data is None:
        return Scoring()
    if not isinstance(data, dict):
        issues.add(getattr(data, "line", None), "scoring_not_mapping")
        return Scoring()
    check_keys(data, KEYS, "'scoring.yaml' ", issues)
    caps: dict[str, int] = {}
    raw_caps = data.get("category_caps") or {}
    if not isinstance(raw_caps, dict):
        issues.add(line_of(data, "category_caps"), "category_map_invalid", key="category_caps", what="分值",
                   example="{arithmetic: 30}")
        raw_caps = {}
    for cat, cap in raw_caps.items():
        if cat not in CATEGORIES:
            issues.add(line_of(raw_caps, cat), "category_unknown", near=(cat, CATEGORIES), value=cat, choices=CATEGORIES)
        elif not _points(cap):
            issues.add(line_of(raw_caps, cat), "cap_invalid", category=cat)
        else:
            caps[cat] = cap
    weights: dict[str, int] = {}
    raw_weights = data.get("category_weights") or {}
    if not isinstance(raw_weights, dict):
        issues.add(line_of(data, "category_weights"), "category_map_invalid", key="category_weights", what="百分比",
                   example="{format: 50}")
        raw_weights = {}
    for cat, pct in raw_weights.items():
        if cat not in CATEGORIES:
            issues.add(line_of(raw_weights, cat), "category_unknown", near=(cat, CATEGORIES), value=cat, choices=CATEGORIES)
        elif isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 1000:
            issues.add(line_of(raw_weights, cat), "category_weight_invalid", category=cat)
        else:
            weights[cat] = pct
    grades = DEFAULT_GRADES
    raw_grades = data.get("grades")
    if raw_grades is not None:
        if not isinstance(raw_grades, dict) or not raw_grades or not all(_points(v) for v in raw_grades.values()):
            issues.add(line_of(data, "grades"), "grades_invalid")
        elif 0 not in raw_grades.values():
            issues.add(line_of(data, "grades"), "grades_no_zero")
        else:
            grades = tuple(sorted(((str(k), v) for k, v in raw_grades.items()), key=lambda g: -g[1]))
    names = [name for name, _ in grades]
    best = {}
    for key in ("best_grade_with_errors", "best_grade_low_coverage"):
        cap = data.get(key)
        if cap is not None and str(cap) not in names:
            issues.add(line_of(data, key), "choice_invalid", near=(cap, names), key=key, value=cap, choices=names)
            cap = None
        best[key] = str(cap) if cap is not None else None
    minimum = data.get("min_coverage", 0)
    if not _points(minimum):
        issues.add(line_of(data, "min_coverage"), "percent_invalid", key="min_coverage", example=80)
        minimum = 0
    blanks = data.get("blank_cells", "zero")
    if blanks not in BLANK_POLICIES:
        issues.add(line_of(data, "blank_cells"), "choice_invalid", near=(blanks, BLANK_POLICIES), key="blank_cells",
                   value=blanks, choices=BLANK_POLICIES)
        blanks = "zero"
    return Scoring(caps, weights, grades, best["best_grade_with_errors"], minimum, best["best_grade_low_coverage"],
                   blanks)


def coverage_of(outcomes: Iterable[Outcome], weights: dict[str, int]) -> float | None:
    """Evaluated share of the applicable checks, each rule counting with its weight, shared
    evenly by its outcomes; outcomes that found their rule not applicable (a premise that
    does not hold) count on neither side. None when no weighted rule applied."""
    by_rule: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if not o.evidence.get("not_applicable"):
            by_rule.setdefault(o.rule_id, []).append(o)
    applicable = evaluated = 0.0
    for rule_id, outs in by_rule.items():
        weight = weights.get(rule_id, 0)
        if weight <= 0:
            continue
        applicable += weight
        evaluated += weight * sum(o.status != "not_evaluated" for o in outs) / len(outs)
    return round(evaluated / applicable, 4) if applicable else None


def score(outcomes: Iterable[Outcome], costs: dict[str, tuple[int, int]], scoring: Scoring,
          coverage: float | None = None) -> tuple[int, str, list[tuple[str, str, int]]]:
    """``costs`` maps rule id -> (points per failed outcome, cap for the rule)."""
    outcomes = list(outcomes)  # walked twice: points, then whether any error failed
    spent_rule: dict[str, int] = {}
    spent_category: dict[str, int] = {}
    total = 0
    lost: list[tuple[str, str, int]] = []
    for o in outcomes:
        if o.status != "fail":
            continue
        each, cap = costs.get(o.rule_id, (o.weight, o.weight))
        points = min(each, cap - spent_rule.get(o.rule_id, 0))
        if o.category in scoring.category_caps:
            points = min(points, scoring.category_caps[o.category] - spent_category.get(o.category, 0))
        points = min(points, BASE - total)
        if points <= 0:
            continue
        spent_rule[o.rule_id] = spent_rule.get(o.rule_id, 0) + points
        spent_category[o.category] = spent_category.get(o.category, 0) + points
        total += points
        lost.append((o.rule_id, o.subject, points))
    final = BASE - total
    has_errors = any(o.status == "fail" and o.severity == "error" for o in outcomes)
    return final, scoring.final_grade(final, has_errors, coverage), lost
