"""Load-time parsing of each check kind's parameters (the ``check:`` mapping of a rule).

One ``parse_<kind>`` per kind turns the YAML mapping into a frozen parameter object,
reporting every mistake with its line and a hint to ``Issues``; expressions are compiled
here, for every ``for_each`` combination, so a bad rule fails when loaded, never in a
worker. Must not look at reports.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from documents.report import SECTION_KEYS
from rules.errors import ExpressionError, Problem, problem
from rules.expressions import Expression, compile_expression
from rules.fields import NAMED_LISTS
from rules.messages import fill, placeholders
from rules.wording import check_named, regex_reason
from rules.yamlmarks import line_of

_VAR = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_PLACEHOLDERS = {"left", "right", "diff", "op", "tolerance", "fields", "rule_id", "title"}


class Issues:
    """Collects the problems of one file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int | None, code: str, *, near: tuple | None = None, detail: str = "", **params) -> None:
        """One problem, said as rules/wording.py says ``code``; ``near`` = (what was written,
        what could be) suggests the closest."""
        self.problems.append(problem(self.file, line, code, near=near, detail=detail, **params))

    def add_expression(self, line: int | None, exc: ExpressionError) -> None:
        self.problems.append(Problem(self.file, line, exc.message, exc.hint, exc.code, exc.detail))


def check_keys(mapping: dict, allowed: tuple[str, ...], where: str, issues: Issues) -> None:
    """``where``: the mapping as the admin knows it, in Chinese ("规则", "'applies'", "'cells' 检查")."""
    for key in mapping:
        if key not in allowed:
            issues.add(line_of(mapping, key), "unknown_key", near=(key, allowed), where=where, key=key, allowed=allowed)


def _section_key(value: Any, line: int | None, issues: Issues) -> str | None:
    if value in SECTION_KEYS:
        return value
    issues.add(line, "section_unknown", near=(value, SECTION_KEYS), value=value, choices=SECTION_KEYS)
    return None


# --- sections --------------------------------------------------------------------------

@dataclass(frozen=True)
class SectionsParams:
    required: tuple[str, ...]
    min_chars: int = 1
    in_order: bool = False


def parse_sections(check: dict, issues: Issues) -> SectionsParams:
    check_keys(check, ("kind", "required", "min_chars", "in_order"), "'sections' 检查", issues)
    raw = check.get("required", "all")
    if raw == "all":
        required = tuple(SECTION_KEYS)
    elif isinstance(raw, list) and raw:
        required = tuple(k for i, v in enumerate(raw) if (k := _section_key(v, line_of(raw, i), issues)))
    else:
        issues.add(line_of(check, "required"), "required_invalid", example=", ".join(list(SECTION_KEYS)[:2]))
        required = ()
    min_chars = check.get("min_chars", 1)
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 0:
        issues.add(line_of(check, "min_chars"), "whole_number", key="min_chars", example=1)
        min_chars = 1
    in_order = check.get("in_order", False)
    if not isinstance(in_order, bool):
        issues.add(line_of(check, "in_order"), "boolean_invalid", key="in_order")
    return SectionsParams(required, min_chars, bool(in_order))


# --- expression --------------------------------------------------------------------------

@dataclass(frozen=True)
class Instance:
    subject: str
    variables: dict[str, str]
    assertion: Expression
    when: Expression | None = None
    needed: tuple[str, ...] = ()  # every key the assertion and the condition read


@dataclass(frozen=True)
class ExpressionParams:
    instances: tuple[Instance, ...]
    variables: tuple[str, ...] = ()
    tolerance: float = 0
    fields: tuple[str, ...] = field(default=())  # every key any instance reads
    comparison: bool = True  # the assertion is one comparison, so left/right/diff exist


def _for_each(raw: Any, line: int | None, issues: Issues) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not raw:
        issues.add(line, "for_each_invalid")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for var, values in raw.items():
        vline = line_of(raw, var, line)
        if not isinstance(var, str) or not _VAR.match(var) or var in RESERVED_PLACEHOLDERS:
            issues.add(vline, "for_each_variable_invalid", var=var, reserved=sorted(RESERVED_PLACEHOLDERS))
            continue
        if isinstance(values, str):
            if values not in NAMED_LISTS:
                issues.add(vline, "list_unknown", near=(values, NAMED_LISTS), var=var, value=values, lists=NAMED_LISTS)
                continue
            out[var] = NAMED_LISTS[values]
        elif isinstance(values, list) and values and all(isinstance(v, (str, int)) for v in values):
            out[var] = tuple(str(v) for v in values)
        else:
            issues.add(vline, "for_each_values_invalid", var=var, lists=NAMED_LISTS)
    return out


def _compile(template: str, variables: dict[str, str], line: int | None, issues: Issues,
             seen: set[str]) -> Expression | None:
    text = fill(template, variables, raw=True)
    leftover = placeholders(text)
    if leftover:
        msg = f"placeholder {leftover[0]}"
        if msg not in seen:
            seen.add(msg)
            issues.add(line, "placeholder_not_variable", name="{%s}" % leftover[0],
                       example="for_each: {%s: applicant_columns}" % leftover[0])
        return None
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        # One report per distinct mistake, not one per column.
        if exc.message not in seen:
            seen.add(exc.message)
            issues.add_expression(line, exc)
        return None


def parse_expression(check: dict, issues: Issues) -> ExpressionParams | None:
    check_keys(check, ("kind", "assert", "for_each", "tolerance", "when"), "'expression' 检查", issues)
    template = check.get("assert")
    if not isinstance(template, str) or not template.strip():
        issues.add(line_of(check, "assert", check.line if hasattr(check, "line") else None), "assert_missing")
        return None
    tolerance = check.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        issues.add(line_of(check, "tolerance"), "number_invalid", key="tolerance", example=0.01)
        tolerance = 0
    loops = _for_each(check.get("for_each"), line_of(check, "for_each"), issues)
    names = list(loops)
    seen: set[str] = set()
    instances: list[Instance] = []
    for combo in itertools.product(*(loops[n] for n in names)) if names else [()]:
        variables = dict(zip(names, combo))
        assertion = _compile(template, variables, line_of(check, "assert"), issues, seen)
        when = None
        if "when" in check:
            when = _compile(str(check["when"]), variables, line_of(check, "when"), issues, seen)
        if assertion is None:
            continue
        if not assertion.is_condition:
            msg = "assert_not_condition"
            if msg not in seen:
                seen.add(msg)
                issues.add(line_of(check, "assert"), msg)
            continue
        if when is not None and not when.is_condition:
            issues.add(line_of(check, "when"), "when_not_condition")
            continue
        needed = tuple(dict.fromkeys(assertion.fields + (when.fields if when else ())))
        instances.append(Instance("/".join(combo), variables, assertion, when, needed))
    if not instances:
        return None
    all_fields = tuple(dict.fromkeys(f for i in instances for f in i.assertion.fields))
    comparison = all(i.assertion.comparison is not None for i in instances)
    return ExpressionParams(tuple(instances), tuple(names), float(tolerance), all_fields, comparison)


# --- deadline ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DeadlineParams:
    grace_days: int = 0


def parse_deadline(check: dict, issues: Issues) -> DeadlineParams:
    """grace_days, for the deadline check and for the missing-report check (TIM-02) alike."""
    check_keys(check, ("kind", "grace_days"), check_named(str(check.get("kind", "deadline"))), issues)
    grace = check.get("grace_days", 0)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        issues.add(line_of(check, "grace_days"), "whole_number", key="grace_days", example=0)
        grace = 0
    return DeadlineParams(grace)


# --- topics ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicsParams:
    section: str | None  # None: the whole text
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (group name, any-of keywords)


def _section_or_all(check: dict, issues: Issues) -> str | None:
    raw = check.get("section")
    if raw in (None, "all"):
        return None
    return _section_key(raw, line_of(check, "section"), issues)


def parse_topics(check: dict, issues: Issues) -> TopicsParams:
    check_keys(check, ("kind", "section", "groups"), "'topics' 检查", issues)
    raw = check.get("groups")
    groups: list[tuple[str, tuple[str, ...]]] = []
    example = "groups: {工作考核: [工作考核, 考核], 社会评议: [社会评议]}"
    if isinstance(raw, dict) and raw:
        for name, words in raw.items():
            if isinstance(words, str):
                words = [words]
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                issues.add(line_of(raw, name), "topic_group_invalid", name=name, example=example)
                continue
            groups.append((str(name), tuple("".join(w.split()) for w in words)))
    elif isinstance(raw, list) and raw:
        for i, words in enumerate(raw):
            words = [words] if isinstance(words, str) else words
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                issues.add(line_of(raw, i), "topic_item_invalid", example=example)
                continue
            groups.append((words[0], tuple("".join(w.split()) for w in words)))
    else:
        issues.add(line_of(check, "groups", getattr(check, "line", None)), "groups_missing", example=example)
    return TopicsParams(_section_or_all(check, issues), tuple(groups))


# --- pattern -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PatternParams:
    patterns: tuple[tuple[str, re.Pattern], ...]  # (label, compiled regex)
    section: str | None = None
    context: int = 12
    max_quotes: int = 3


def parse_pattern(check: dict, issues: Issues) -> PatternParams:
    check_keys(check, ("kind", "patterns", "section", "context", "max_quotes"), "'pattern' 检查", issues)
    raw = check.get("patterns")
    patterns: list[tuple[str, re.Pattern]] = []
    if not isinstance(raw, list) or not raw:
        issues.add(line_of(check, "patterns", getattr(check, "line", None)), "patterns_missing")
    else:
        for i, item in enumerate(raw):
            line = line_of(raw, i)
            if isinstance(item, str):
                regex, label = item, item
            elif isinstance(item, dict) and isinstance(item.get("regex"), str):
                check_keys(item, ("regex", "label"), "模式", issues)
                regex, label = item["regex"], str(item.get("label") or item["regex"])
            else:
                issues.add(line, "pattern_item_invalid")
                continue
            try:
                compiled = re.compile(regex)
            except re.error as exc:
                issues.add(line, "regex_invalid", regex=regex, reason=regex_reason(exc), detail=str(exc))
                continue
            if compiled.search(""):
                issues.add(line, "pattern_matches_empty", regex=regex)
                continue
            patterns.append((label, compiled))
    ints = {}
    for key, default in (("context", 12), ("max_quotes", 3)):
        value = check.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            issues.add(line_of(check, key), "whole_number", key=key, example=default)
            value = default
        ints[key] = value
    return PatternParams(tuple(patterns), _section_or_all(check, issues), ints["context"], ints["max_quotes"])
