"""Render a notice (subject, text body, HTML body) from Jinja2 templates.

Templates are per kind: `<kind>.subject.j2`, `<kind>.body.j2` and optionally
`<kind>.body.html.j2` (used for email). Admins may override any of them by putting a file
of the same name in their own template directory, which is searched first. Text that came
from agencies is passed as data, never as template source, and is autoescaped in HTML.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from notifications.dates import cn_date

TEMPLATES = Path(__file__).resolve().parent / "templates"

SEVERITY_CN = {"error": "错误", "warning": "警示", "info": "提示"}
# How firmly a basis stands (domain.md §0): only VERIFIED text is cited bare; an identity implied by
# the table layout is worded as an internal inconsistency, not as a quoted requirement.
BASIS_NOTE = {"VERIFIED": "", "IMPLIED": "（据表格勾稽关系推定）", "CORROBORATED": "（据通行格式）",
              "UNVERIFIED": "（仅供参考）"}


@lru_cache(maxsize=8)
def environment(override: Path | None = None) -> Environment:
    loaders = [FileSystemLoader(str(override))] if override else []
    env = Environment(
        loader=ChoiceLoader(loaders + [FileSystemLoader(str(TEMPLATES))]),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,  # a typo in a template fails the test suite, not a notice
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cn_date"] = cn_date
    env.filters["severity_cn"] = lambda s: SEVERITY_CN.get(s, s)
    env.filters["basis_note"] = lambda s: BASIS_NOTE.get(s or "VERIFIED", "")
    return env


def render(kind: str, context: dict[str, Any], template_dir: Path | None = None) -> tuple[str, str, str]:
    """Return (subject, text body, HTML body or "") for a notice of this kind."""
    env = environment(Path(template_dir) if template_dir else None)
    subject = " ".join(env.get_template(f"{kind}.subject.j2").render(**context).split())
    body = env.get_template(f"{kind}.body.j2").render(**context)
    try:
        html = env.get_template(f"{kind}.body.html.j2").render(**context)
    except TemplateNotFound:
        html = ""
    return subject, body, html
