"""Validating one rule (a YAML mapping) into a ``Rule``, reporting every mistake with a line.

Checks the top-level keys (with "did you mean"), severity, weight, category, basis status,
applies, when_missing, the check kind and its parameters (delegated to the kind's parser,
which compiles expressions), and the message's placeholders. Must not read files (see
rules/loader.py) or evaluate rules.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rules.checks import KINDS
from rules.fields import FIELD_NEEDS
from rules.messages import unknown_placeholders
from rules.model import (BASIS_STATUSES, CATEGORIES, DEFAULT_WEIGHTS, SEVERITIES, TEMPLATES,
                         WHEN_MISSING, Applies, Rule)
from rules.deadlines import LEVELS
from rules.params import Issues, check_keys
from rules.wording import rule_named
from rules.yamlmarks import line_of

RULE_KEYS = ("id", "title", "severity", "weight", "weight_each", "category", "basis", "applies",
             "when_missing", "check", "message", "notes")
REQUIRED = ("id", "title", "severity", "category", "basis", "check")
ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{2,3}[a-z]?$")
# Facts a kind reads from the context whatever its parameters: a deadline needs the level
# (1月31日 or 3月31日) and the year; year checks and the carry-over period need the year.
KIND_NEEDS = {"deadline": {"level", "year"}, "missing": {"level", "year"}, "years": {"year"},
              "carryover": {"year"}}


def plain(value: Any) -> Any:
    """MarkedDict/MarkedList -> dict/list, dates -> ISO text: the normalized form hashed
    into RuleSet.version."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _choice(data: dict, key: str, choices: tuple[str, ...], issues: Issues, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value in choices:
        return value
    issues.add(line_of(data, key), "choice_invalid", near=(value, choices), key=key, value=value, choices=choices)
    return None


def _points(data: dict, key: str, issues: Issues, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        issues.add(line_of(data, key), "points_invalid", key=key, value=value)
        return default
    return value


def _basis(data: dict, issues: Issues) -> dict[str, str]:
    raw = data.get("basis")
    if not isinstance(raw, dict):
        issues.add(line_of(data, "basis"), "basis_not_mapping")
        return {}
    check_keys(raw, ("text", "status", "url", "note"), "'basis'", issues)
    if not isinstance(raw.get("text"), str) or not raw["text"].strip():
        issues.add(line_of(raw, "text", raw.line), "basis_no_text")
    if raw.get("status") not in BASIS_STATUSES:
        issues.add(line_of(raw, "status", raw.line), "basis_status_invalid", near=(str(raw.get("status")).upper(), BASIS_STATUSES),
                   value=raw.get("status"), choices=BASIS_STATUSES)
    return {str(k): str(v) for k, v in raw.items()}


def _applies(data: dict, issues: Issues) -> Applies:
    """Every rule states the templates and the levels it is for (both, when it is for all):
    a rule silently judging a report its template does not ask about is the mistake to avoid."""
    raw = data.get("applies")
    if raw is None:
        issues.add(data.line, "applies_missing", rule=rule_named(data.get("id")))
        return Applies()
    if not isinstance(raw, dict):
        issues.add(line_of(data, "applies"), "applies_not_mapping")
        return Applies()
    check_keys(raw, ("levels", "templates", "since", "until"), "'applies'", issues)
    out: dict[str, Any] = {}
    for key, choices in (("levels", LEVELS), ("templates", TEMPLATES)):
        if key not in raw:
            issues.add(line_of(data, "applies"), "applies_key_missing", key=key)
            continue
        values = raw.get(key, [])
        values = [values] if isinstance(values, (str, int)) else values
        if not isinstance(values, list) or not values:
            issues.add(line_of(raw, key), "applies_list_empty", key=f"applies.{key}", choices=choices)
            continue
        good = []
        for i, v in enumerate(values):
            if str(v) in choices:
                good.append(str(v))
            else:
                issues.add(line_of(values, i, line_of(raw, key)), "applies_value_invalid", near=(v, choices),
                           key=f"applies.{key}", value=v, choices=choices)
        out[key] = tuple(good)
    for key in ("since", "until"):
        if key in raw:
            if isinstance(raw[key], int) and not isinstance(raw[key], bool) and 2000 <= raw[key] <= 2100:
                out[key] = raw[key]
            else:
                issues.add(line_of(raw, key), "applies_year_invalid", key=f"applies.{key}")
    return Applies(**out)


def needs_of(applies: Applies, kind: str, params: Any) -> frozenset[str]:
    """The facts a rule depends on: what its applies narrows, what its kind reads, and the
    agency or meta numbers its expressions use (agency.rulemaking, meta.template …)."""
    needs = set(KIND_NEEDS.get(kind, ()))
    if applies.levels and set(applies.levels) != set(LEVELS):
        needs.add("level")
    if applies.templates and set(applies.templates) != set(TEMPLATES):
        needs.add("template")
    if applies.since or applies.until:
        needs.add("year")
    for instance in getattr(params, "instances", ()) or ():
        needs.update(FIELD_NEEDS[k] for k in instance.needed if k in FIELD_NEEDS)
    return frozenset(needs)


def parse_rule(data: Any, issues: Issues, line: int | None) -> Rule | None:
    """One rule mapping -> Rule, or None after adding problems to ``issues``. Whatever goes
    wrong while checking or compiling a rule is that rule's problem, at its line: loading
    never fails any other way (a worker keeps its last good rules and says why)."""
    try:
        return _parse_rule(data, issues, line)
    except Exception as exc:  # noqa: BLE001 - RecursionError, a bug in a kind's parser, …
        rule_id = data.get("id") if isinstance(data, dict) else None
        issues.add(line, "rule_crashed", rule=rule_named(rule_id), detail=f"{type(exc).__name__}: {exc}")
        return None


def _parse_rule(data: Any, issues: Issues, line: int | None) -> Rule | None:
    if not isinstance(data, dict):
        issues.add(line, "rule_not_mapping")
        return None
    before = len(issues.problems)
    check_keys(data, RULE_KEYS, "规则", issues)
    for key in REQUIRED:
        if key not in data:
            issues.add(data.line, "key_missing", rule=rule_named(data.get("id")), key=key, required=REQUIRED)
    rule_id = data.get("id")
    if "id" in data and (not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id)):
        issues.add(line_of(data, "id"), "id_invalid", value=rule_id)
    if "title" in data and (not isinstance(data["title"], str) or not data["title"].strip()):
        issues.add(line_of(data, "title"), "title_empty")
    severity = _choice(data, "severity", SEVERITIES, issues) if "severity" in data else None
    weight = _points(data, "weight", issues, DEFAULT_WEIGHTS.get(severity or "", 0))
    weight_each = _points(data, "weight_each", issues, None)
    category = _choice(data, "category", CATEGORIES, issues) if "category" in data else None
    basis = _basis(data, issues) if "basis" in data else {}
    applies = _applies(data, issues)
    when_missing = _choice(data, "when_missing", WHEN_MISSING, issues, "not_evaluated")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        issues.add(line_of(data, "message"), "message_not_text")
        message = None

    check = data.get("check")
    kind_name, params = None, None
    if "check" in data:
        if not isinstance(check, dict):
            issues.add(line_of(data, "check"), "check_not_mapping")
        else:
            kind_name = check.get("kind")
            if kind_name not in KINDS:
                issues.add(line_of(check, "kind", check.line), "kind_unknown", near=(kind_name, KINDS), kind=kind_name,
                           kinds=list(KINDS))
                kind_name = None
            else:
                params = KINDS[kind_name].parse(check, issues)
    if message and kind_name and params is not None:
        for name in unknown_placeholders(message, KINDS[kind_name].placeholders(params)):
            allowed = sorted(KINDS[kind_name].placeholders(params) - set(getattr(params, "fields", ())))
            issues.add(line_of(data, "message"), "placeholder_unavailable", near=(name, allowed), name="{%s}" % name,
                       kind=kind_name, allowed=["{%s}" % a for a in allowed])
    if len(issues.problems) > before or params is None:
        return None
    return Rule(id=rule_id, title=data["title"].strip(), severity=severity, weight=weight, category=category,
                basis=basis, kind=kind_name, params=params, applies=applies, when_missing=when_missing,
                message=message, weight_each=weight_each, file=issues.file, line=data.line, raw=plain(data),
                needs=needs_of(applies, kind_name, params))
