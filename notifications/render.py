"""Render a notice (subject, body) from the Jinja2 templates of notifications/templates.

Templates are per kind: `<kind>.subject.j2` and `<kind>.body.j2`. Bodies are plain text;
text that came from agencies is passed through as data, never as template source.
An `.html.j2` body would be autoescaped (select_autoescape), so agency text stays inert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.dates import cn_date

TEMPLATES = Path(__file__).resolve().parent / "templates"

SEVERITY_CN = {"error": "错误", "warning": "警示", "info": "提示"}
# How firmly a basis stands (domain.md §0): only VERIFIED text is cited bare; an identity implied by
# the table layout is worded as an internal inconsistency, not as a quoted requirement.
BASIS_NOTE = {"VERIFIED": "", "IMPLIED": "（据表格勾稽关系推定）", "CORROBORATED": "（据通行格式）",
              "UNVERIFIED": "（仅供参考）"}


def _environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a typo in a template fails the test suite, not a notice
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cn_date"] = cn_date
    env.filters["severity_cn"] = lambda s: SEVERITY_CN.get(s, s)
    env.filters["basis_note"] = lambda s: BASIS_NOTE.get(s or "VERIFIED", "")
    return env


_default_env = _environment(TEMPLATES)


def render(kind: str, context: dict[str, Any], template_dir: Path | None = None) -> tuple[str, str]:
    """Return (subject, body) for a notice of this kind."""
    env = _environment(template_dir) if template_dir else _default_env
    subject = env.get_template(f"{kind}.subject.j2").render(**context).strip()
    body = env.get_template(f"{kind}.body.j2").render(**context)
    return subject, body
