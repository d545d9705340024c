"""Numbers the report states in prose: applications received, answered on time, extended,
administrative reviews and lawsuits.

Each is ``{"value": n, "quote": sentence}``, the first statement in document order, so a
rule can set the prose against the table and quote the agency's own words. Chinese
numerals (一, 两, 十二) are read; "没有行政诉讼" / "未发生行政复议" read as 0.

This module reads prose only (table rows are skipped by the caller) and must not judge
whether prose and tables agree.
"""

from __future__ import annotations

import re

from documents.encoding import nfkc

_CN = "零〇一二两三四五六七八九十百千"
_NUM = rf"(?<![\d.])(\d+|[{_CN}]+)"
_GAP = r"[^。；;，,！!？?]"  # stay within one clause
_UNIT = r"(?:件|个|份|条|次|起|宗|例)"

_PATTERNS: dict[str, list[tuple[str, bool]]] = {
    # (regex, is_zero_statement)
    "requests_received": [
        (rf"(?:收到|受理|接收|接到|新收|办理)(?:了)?{_GAP}{{0,20}}?申请{_GAP}{{0,8}}?{_NUM}{_UNIT}", False),
    ],
    "answered_on_time": [
        (rf"(?:按时|按期|如期|及时|法定期限内)(?:回复|答复|办结|处理|办理){_GAP}{{0,4}}?{_NUM}{_UNIT}", False),
    ],
    "extended": [
        (rf"延期{_GAP}{{0,8}}?{_NUM}{_UNIT}", False),
        (rf"{_NUM}{_UNIT}{_GAP}{{0,6}}?延期", False),
    ],
    "reviews": [
        (rf"行政复议{_GAP}{{0,8}}?{_NUM}{_UNIT}", False),
        (rf"{_NUM}{_UNIT}{_GAP}{{0,8}}?行政复议", False),
        (rf"(?:没有|未发生|未有|未收到|未涉及|无)[^。；;！!？?]{{0,16}}?行政复议", True),
        (rf"行政复议{_GAP}{{0,8}}?(?:为|均为)(?:0|零)", True),
    ],
    "lawsuits": [
        (rf"行政诉讼{_GAP}{{0,8}}?{_NUM}{_UNIT}", False),
        (rf"{_NUM}{_UNIT}{_GAP}{{0,8}}?行政诉讼", False),
        (rf"(?:没有|未发生|未有|未收到|未涉及|无)[^。；;！!？?]{{0,16}}?行政诉讼", True),
        (rf"行政诉讼{_GAP}{{0,8}}?(?:为|均为)(?:0|零)", True),
    ],
}
_COMPILED = {k: [(re.compile(p), z) for p, z in v] for k, v in _PATTERNS.items()}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105, 18 → 18."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in "十百千":
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (current or 1) * unit
            current = 0
        else:
            return None
    return total + current


def sentences(lines: list[str], wrapped: bool = False) -> list[str]:
    """Sentences of the prose. ``wrapped``: lines are a PDF's visual lines, so a sentence
    runs on over line ends and lines are joined first."""
    if wrapped:
        lines = ["".join(lines)]
    out: list[str] = []
    for line in lines:
        out += [s.strip() for s in re.split(r"(?<=[。！？；;!?])", line) if s.strip()]
    return out


def read_narrative(lines: list[str], *, wrapped: bool = False) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for sentence in sentences(lines, wrapped):
        # PDF text layers put spaces around numbers ("申请 17 件"): match without them.
        compact = re.sub(r"\s+", "", nfkc(sentence))
        for key, patterns in _COMPILED.items():
            if key in found:
                continue
            for pattern, zero in patterns:
                m = pattern.search(compact)
                if not m:
                    continue
                value = 0 if zero else chinese_number(m.group(1))
                if value is not None:
                    found[key] = {"value": value, "quote": sentence}
                    break
    return {key: found[key] for key in _PATTERNS if key in found}
