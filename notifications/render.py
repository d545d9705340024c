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

from notifications.dates import cn_date, cn_datetime
from notifications.labels import BASIS_NOTE, label

TEMPLATES = Path(__file__).resolve().parent / "templates"


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
    env.filters["cn_datetime"] = cn_datetime
    env.filters["label"] = lambda code, kind: label(kind, code)  # {{ r.state|label("state") }}
    env.filters["severity_cn"] = lambda s: label("severity", s)
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
