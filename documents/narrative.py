"""Numbers the report states in prose, each ``{"value": n, "quote": sentence}``.

Keys (stable; rules read them):
  requests_received   applications received this year (收到/受理/新收…申请 N件)
  answered_on_time    applications answered within the legal time limit (按时/按期/法定期限内答复 N件)
  extended            answers given after an extension (延期答复 N件)
  reviews             administrative reviews about GOI work (行政复议 N件; 未发生行政复议 → 0)
  lawsuits            administrative lawsuits about GOI work (行政诉讼 N件; 没有行政诉讼 → 0)
  carried_over        applications carried over from last year (上年结转 N件)
  late                applications answered late, past the time limit (逾期/超期答复 N件)
  documents_issued    normative documents issued this year (制发/印发/新制作规范性文件 N件)
  items_published     items of information published proactively (主动公开政府信息 N条)
  fees_collected      information processing fees collected, in 元 (收取信息处理费 N元;
                      未收取信息处理费 → 0; 万元 converted to 元)

The first statement in document order wins, so a rule can set the prose against the
table and quote the agency's own words. Chinese numerals (一, 两, 十二) are read.

This module reads prose only (table rows are skipped by the caller) and must not judge
whether prose and tables agree.
"""

from __future__ import annotations

import re

from documents.encoding import nfkc

_CN = "零〇一二两三四五六七八九十百千"
_NUM = rf"(?<![\d.第{_CN}])(\d+|[{_CN}]+)"  # not 第二十条
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
_PATTERNS.update({
    "carried_over": [
        (rf"上年(?:度)?结转{_GAP}{{0,12}}?{_NUM}{_UNIT}", False),
    ],
    "late": [
        (rf"(?:逾期|超期|超过法定期限)(?:答复|回复|办结|处理){_GAP}{{0,4}}?{_NUM}{_UNIT}", False),
    ],
    "documents_issued": [
        (rf"(?:制发|印发|出台|新制作|制定)(?:了)?{_GAP}{{0,6}}?规范性文件{_GAP}{{0,4}}?{_NUM}{_UNIT}", False),
    ],
    "items_published": [
        (rf"(?:主动公开|主动发布|(?:共|累计)(?:审核)?(?:发布|公开)){_GAP}{{0,10}}?信息{_GAP}{{0,4}}?{_NUM}(?:条|篇)", False),
    ],
    "fees_collected": [
        (r"(?:未|没有|无)(?:收取|收缴)[^。；;！!？?]{0,8}?(?:信息处理费|费用)", True),
        (rf"收取{_GAP}{{0,8}}?信息处理费{_GAP}{{0,6}}?{_NUM}(万元|元)", False),
    ],
})
_COMPILED = {k: [(re.compile(p), z) for p, z in v] for k, v in _PATTERNS.items()}
# Words every pattern of a key needs, one of them at least: a sentence without any is not
# searched with that key's patterns (most sentences name none; ``in`` is far cheaper than
# a regex search). Keep in step with _PATTERNS.
_ANCHORS = {
    "requests_received": ("申请",),
    "answered_on_time": ("回复", "答复", "办结", "处理", "办理"),
    "extended": ("延期",),
    "reviews": ("行政复议",),
    "lawsuits": ("行政诉讼",),
    "carried_over": ("结转",),
    "late": ("逾期", "超期", "超过法定期限"),
    "documents_issued": ("规范性文件",),
    "items_published": ("信息",),
    "fees_collected": ("收取", "收缴"),
}
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])")
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
        out += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return out


_OPEN_END = re.compile(r"[^。；;！!？?：:…”」）)\s]\s*$")


def looks_wrapped(lines: list[str]) -> bool:
    """Prose hard-wrapped at a page's line ends (a PDF converted to text): most long lines
    stop in mid-sentence."""
    long = [line for line in lines if len(line.strip()) >= 20]
    return len(long) >= 5 and sum(1 for line in long if _OPEN_END.search(line)) * 2 > len(long)


def read_narrative(lines: list[str], *, wrapped: bool = False) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for sentence in sentences(lines, wrapped):
        # PDF text layers put spaces around numbers ("申请 17 件"): match without them.
        compact = _SPACE.sub("", nfkc(sentence))
        for key, patterns in _COMPILED.items():
            if key in found:
                continue
            for word in _ANCHORS[key]:  # a plain loop: a generator per key and sentence costs more
                if word in compact:
                    break
            else:
                continue
            for pattern, zero in patterns:
                m = pattern.search(compact)
                if not m:
                    continue
                value = 0 if zero else chinese_number(m.group(1))
                if value is not None and m.lastindex and m.lastindex >= 2 and m.group(2) == "万元":
                    value *= 10000
                if value is not None:
                    found[key] = {"value": value, "quote": sentence}
                    break
    return {key: found[key] for key in _PATTERNS if key in found}
