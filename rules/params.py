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
from rules.errors import ExpressionError, Problem
from rules.expressions import Expression, compile_expression
from rules.fields import NAMED_LISTS, suggest
from rules.messages import fill, placeholders
from rules.yamlmarks import line_of

_VAR = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_PLACEHOLDERS = {"left", "right", "diff", "op", "tolerance", "fields", "rule_id", "title"}


class Issues:
    """Collects the problems of one file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int | None, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, hint))


def check_keys(mapping: dict, allowed: tuple[str, ...], where: str, issues: Issues) -> None:
    for key in mapping:
        if key not in allowed:
            hint = suggest(str(key), allowed) or f"{where} accepts: {', '.join(allowed)}"
            issues.add(line_of(mapping, key), f"unknown key {key!r} in {where}", hint)


def _section_key(value: Any, line: int | None, issues: Issues) -> str | None:
    if value in SECTION_KEYS:
        return value
    issues.add(line, f"unknown section key {value!r}",
               suggest(str(value), SECTION_KEYS) or f"section keys: {', '.join(SECTION_KEYS)}")
    return None


# --- sections --------------------------------------------------------------------------

@dataclass(frozen=True)
class SectionsParams:
    required: tuple[str, ...]
    min_chars: int = 1
    in_order: bool = False


def parse_sections(check: dict, issues: Issues) -> SectionsParams:
    check_keys(check, ("kind", "required", "min_chars", "in_order"), "a sections check", issues)
    raw = check.get("required", "all")
    if raw == "all":
        required = tuple(SECTION_KEYS)
    elif isinstance(raw, list) and raw:
        required = tuple(k for i, v in enumerate(raw) if (k := _section_key(v, line_of(raw, i), issues)))
    else:
        issues.add(line_of(check, "required"), "required must be 'all' or a list of section keys",
                   f"e.g. required: [{', '.join(list(SECTION_KEYS)[:2])}]")
        required = ()
    min_chars = check.get("min_chars", 1)
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 0:
        issues.add(line_of(check, "min_chars"), "min_chars must be a whole number ≥ 0", "e.g. min_chars: 1")
        min_chars = 1
    in_order = check.get("in_order", False)
    if not isinstance(in_order, bool):
        issues.add(line_of(check, "in_order"), "in_order must be true or false", "")
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
        issues.add(line, "for_each must map a variable to a list of values",
                   "e.g. for_each: {c: applicant_columns} or {c: [natural, total]}")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for var, values in raw.items():
        vline = line_of(raw, var, line)
        if not isinstance(var, str) or not _VAR.match(var) or var in RESERVED_PLACEHOLDERS:
            issues.add(vline, f"bad for_each variable name {var!r}",
                       "use a short lowercase name such as c or r, not one of " + ", ".join(sorted(RESERVED_PLACEHOLDERS)))
            continue
        if isinstance(values, str):
            if values not in NAMED_LISTS:
                issues.add(vline, f"unknown list {values!r} for {var}",
                           suggest(values, NAMED_LISTS) or f"named lists: {', '.join(NAMED_LISTS)}")
                continue
            out[var] = NAMED_LISTS[values]
        elif isinstance(values, list) and values and all(isinstance(v, (str, int)) for v in values):
            out[var] = tuple(str(v) for v in values)
        else:
            issues.add(vline, f"for_each {var} needs a non-empty list of values or a list name",
                       f"named lists: {', '.join(NAMED_LISTS)}")
    return out


def _compile(template: str, variables: dict[str, str], line: int | None, issues: Issues,
             seen: set[str]) -> Expression | None:
    text = fill(template, variables, raw=True)
    leftover = placeholders(text)
    if leftover:
        msg = f"placeholder {{{leftover[0]}}} is not a for_each variable"
        if msg not in seen:
            seen.add(msg)
            issues.add(line, msg, "declare it under for_each, e.g. for_each: {%s: applicant_columns}" % leftover[0])
        return None
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        # One report per distinct mistake, not one per column.
        if exc.message not in seen:
            seen.add(exc.message)
            issues.add(line, f"expression: {exc.message}", exc.hint)
        return None


def parse_expression(check: dict, issues: Issues) -> ExpressionParams | None:
    check_keys(check, ("kind", "assert", "for_each", "tolerance", "when"), "an expression check", issues)
    template = check.get("assert")
    if not isinstance(template, str) or not template.strip():
        issues.add(line_of(check, "assert", check.line if hasattr(check, "line") else None),
                   "an expression check needs assert: <comparison>",
                   'e.g. assert: "review.total == review.upheld + review.corrected + review.other + review.pending"')
        return None
    tolerance = check.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        issues.add(line_of(check, "tolerance"), "tolerance must be a number ≥ 0", "e.g. tolerance: 0.01")
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
            msg = "assert must be a condition (a comparison, and/or/not)"
            if msg not in seen:
                seen.add(msg)
                issues.add(line_of(check, "assert"), msg, "e.g. a + b == c; a bare sum is always 'true'")
            continue
        if when is not None and not when.is_condition:
            issues.add(line_of(check, "when"), "when must be a condition", "e.g. when: \"apply.new.total > 0\"")
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
    check_keys(check, ("kind", "grace_days"), f"a {check.get('kind', 'deadline')} check", issues)
    grace = check.get("grace_days", 0)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        issues.add(line_of(check, "grace_days"), "grace_days must be a whole number ≥ 0", "e.g. grace_days: 0")
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
    check_keys(check, ("kind", "section", "groups"), "a topics check", issues)
    raw = check.get("groups")
    groups: list[tuple[str, tuple[str, ...]]] = []
    example = "e.g. groups: {工作考核: [工作考核, 考核], 社会评议: [社会评议]}"
    if isinstance(raw, dict) and raw:
        for name, words in raw.items():
            if isinstance(words, str):
                words = [words]
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                issues.add(line_of(raw, name), f"topic group {name!r} needs a list of keywords", example)
                continue
            groups.append((str(name), tuple("".join(w.split()) for w in words)))
    elif isinstance(raw, list) and raw:
        for i, words in enumerate(raw):
            words = [words] if isinstance(words, str) else words
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                issues.add(line_of(raw, i), "each topic group is a keyword or a list of keywords", example)
                continue
            groups.append((words[0], tuple("".join(w.split()) for w in words)))
    else:
        issues.add(line_of(check, "groups", getattr(check, "line", None)), "a topics check needs groups", example)
    return TopicsParams(_section_or_all(check, issues), tuple(groups))


# --- pattern -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PatternParams:
    patterns: tuple[tuple[str, re.Pattern], ...]  # (label, compiled regex)
    section: str | None = None
    context: int = 12
    max_quotes: int = 3


def parse_pattern(check: dict, issues: Issues) -> PatternParams:
    check_keys(check, ("kind", "patterns", "section", "context", "max_quotes"), "a pattern check", issues)
    raw = check.get("patterns")
    patterns: list[tuple[str, re.Pattern]] = []
    if not isinstance(raw, list) or not raw:
        issues.add(line_of(check, "patterns", getattr(check, "line", None)),
                   "a pattern check needs a list of patterns",
                   'e.g. patterns: ["编写说明", {regex: "X{2,}单位", label: "XX单位"}]')
    else:
        for i, item in enumerate(raw):
            line = line_of(raw, i)
            if isinstance(item, str):
                regex, label = item, item
            elif isinstance(item, dict) and isinstance(item.get("regex"), str):
                check_keys(item, ("regex", "label"), "a pattern", issues)
                regex, label = item["regex"], str(item.get("label") or item["regex"])
            else:
                issues.add(line, "a pattern is a regex string or {regex: ..., label: ...}", "")
                continue
            try:
                compiled = re.compile(regex)
            except re.error as exc:
                issues.add(line, f"bad regular expression {regex!r}: {exc}", "escape ( ) [ ] . * + ? with a backslash")
                continue
            if compiled.search(""):
                issues.add(line, f"pattern {regex!r} matches empty text", "a pattern must require at least one character")
                continue
            patterns.append((label, compiled))
    ints = {}
    for key, default in (("context", 12), ("max_quotes", 3)):
        value = check.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            issues.add(line_of(check, key), f"{key} must be a whole number ≥ 0", f"e.g. {key}: {default}")
            value = default
        ints[key] = value
    return PatternParams(tuple(patterns), _section_or_all(check, issues), ints["context"], ints["max_quotes"])
