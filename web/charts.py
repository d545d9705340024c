"""Charts drawn on the server as inline SVG: no script, no external asset, readable on a phone.

Each chart is a small viewBox (360 units wide) that the page scales to its column: on a
375 px phone it is drawn about 1:1, on a desk it grows up to the CSS max-width. Every label
is placed inside the viewBox with room for its text (a test measures them), and every text
that came from the roster (region, agency names) is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
FONT = 12
BAR = 18  # height of one horizontal bar
GAP = 8
COLOURS = {"good": "#1a7f37", "warn": "#b35900", "bad": "#c00", "base": "#8b1a1a", "muted": "#999"}


@dataclass
class Bar:
    label: str
    value: float | None  # None: nothing to draw (no data), said in words
    text: str = ""  # what to write at the end of the bar ("85%", "92 分")
    href: str = ""
    highlight: bool = False
    tone: str = "base"


def _svg(height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{klass}>'
            f"{escape(text)}</text>")


def _clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[:chars - 1] + "…"


def bar_chart(title: str, bars: list[Bar], *, maximum: float | None = None, label_chars: int = 8) -> Markup:
    """Horizontal bars, one per row: the label on the left, the bar, its value at the end."""
    label_w = FONT * label_chars + 6
    value_w = 52
    span = WIDTH - label_w - value_w
    top = maximum or max((b.value or 0 for b in bars), default=0) or 1
    height = len(bars) * (BAR + GAP) + GAP
    body = []
    for i, b in enumerate(bars):
        y = GAP + i * (BAR + GAP)
        mid = y + BAR / 2 + FONT * 0.35
        name = _text(label_w - 6, mid, _clip(b.label, label_chars), anchor="end",
                     cls="hl" if b.highlight else "")
        if b.href:
            name = f'<a href="{escape(b.href)}">{name}</a>'
        body.append(name)
        if b.value is not None:
            w = max(1.0, span * min(b.value, top) / top)
            colour = COLOURS.get(b.tone, COLOURS["base"])
            stroke = ' stroke="#000" stroke-width="1.5"' if b.highlight else ""
            body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{colour}"{stroke}/>')
            body.append(_text(label_w + w + 4, mid, b.text))
        else:
            body.append(_text(label_w + 4, mid, b.text or "无数据", cls="muted"))
    return _svg(height, title, body)


def histogram(title: str, counts: list[int], labels: list[str], *, tones: list[str] | None = None) -> Markup:
    """Vertical bars (e.g. how many agencies scored 0–59, 60–69, …), the count above each bar."""
    height, bottom, top_pad = 170, 146, 18
    n = max(1, len(counts))
    slot = WIDTH / n
    peak = max(counts, default=0) or 1
    body = [f'<line x1="0" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" stroke="{COLOURS["muted"]}"/>']
    for i, (count, label) in enumerate(zip(counts, labels)):
        h = (bottom - top_pad) * count / peak
        x = i * slot + slot * 0.15
        colour = COLOURS.get((tones or [])[i] if tones else "base", COLOURS["base"])
        if count:
            body.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}"/>')
        body.append(_text(i * slot + slot / 2, bottom - h - 4, str(count), anchor="middle"))
        body.append(_text(i * slot + slot / 2, bottom + 16, label, anchor="middle", size=11))
    return _svg(height, title, body)


def line_chart(title: str, points: list[tuple[str, float]], *, low: float = 0, high: float = 100) -> Markup:
    """A trend (e.g. an agency's score by year), each point labelled with its value; room is
    kept above the highest label and below the axis labels so nothing is clipped."""
    height, left, right, top, bottom = 170, 40, 30, 22, 140  # room for "2025年" under the end points
    # The first point stands this far right of the axis, so its value label (centred on it, as
    # wide as "100") clears the axis labels (right-aligned at left - 4) at any height.
    inset = FONT * 0.6 * len(f"{high:g}") / 2 + 8
    n = len(points)
    step = (WIDTH - left - inset - right) / max(1, n - 1) if n > 1 else 0
    span = (high - low) or 1

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + inset + step * i if n > 1 else WIDTH / 2
        return x, bottom - (bottom - top) * (min(max(v, low), high) - low) / span

    body = [f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - right}" y2="{bottom}" stroke="{COLOURS["muted"]}"/>']
    for mark in (low, (low + high) / 2, high):
        _, y = xy(0, mark)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(_text(left - 4, y + 4, f"{mark:g}", anchor="end", size=10, cls="muted"))
    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    if n > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS["base"]}" stroke-width="2"/>')
    for (label, v), (x, y) in zip(points, coords):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS["base"]}"/>')
        body.append(_text(x, y - 8, f"{v:g}", anchor="middle"))
        body.append(_text(x, bottom + 18, label, anchor="middle", size=11))
    return _svg(height, title, body)
