"""Filling ``{placeholders}`` in rule messages and expressions, Chinese style.

Only ``{name}`` and ``{dotted.name}`` are recognised, looked up in a plain mapping. This is
deliberately not ``str.format``: a rule file must not reach attributes (``{x.__class__}``)
or format specs. Numbers print without a spurious ``.0``; dates print as 2026年2月20日.
Must not know about rules or reports.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable, Mapping

PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\}")


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template or "")


def unknown_placeholders(template: str, known: Iterable[str]) -> list[str]:
    allowed = set(known)
    return [name for name in placeholders(template) if name not in allowed]


def format_number(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def format_date(value: date | None) -> str:
    if value is None:
        return "未知"
    return f"{value.year}年{value.month}月{value.day}日"


def render_value(value: Any) -> str:
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return "、".join(render_value(v) for v in value)
    return "" if value is None else str(value)


def fill(template: str, values: Mapping[str, Any], *, raw: bool = False) -> str:
    """Replace every known ``{name}``; unknown ones stay as written (load-time validation
    is what keeps them out of shipped rules). ``raw`` inserts values unformatted, which is
    what expression templates (``apply.new.{c}``) need."""

    def repl(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return str(values[name]) if raw else render_value(values[name])

    return PLACEHOLDER.sub(repl, template or "")
