"""Reading numbers and statements out of a report's prose, for the prose-aware check kinds.

Sentences are cut at 。！？； (line ends inside a sentence are joined, since PDF text layers
break lines anywhere) and compacted (spaces removed: "申请 17 件"). Patterns written in rule
files may use ``{n}`` for a number in digits or Chinese numerals. Results are cached per
report text, because several rules read the same sentences. Must not know rules or tables.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from documents.encoding import nfkc
from rules.literals import may_match

NUMBER = r"(?P<n>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)"
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_SPLIT = re.compile(r"(?<=[。！？；!?;])")
_TABLE_LINE = re.compile(r"\t|(?:\d+\s+){3,}\d+")

# Words that say a sentence speaks of part of the agency, not of what its tables count:
# "区政府办代表区政府受理…17件" (洪泽区 2024) against 95 in the table.
SCOPE_MARKERS = ("代表", "本级", "政府办", "办公室", "机关本级", "其中", "部分单位", "各部门", "各单位",
                 "各乡镇", "街道", "直属", "本部")


def cn_number(text: str) -> float | int | None:
    """18 → 18, 十二 → 12, 一百零五 → 105, 1.5 → 1.5; None when not a number."""
    if not text:
        return None
    if text.replace(".", "", 1).isdigit():
        return float(text) if "." in text else int(text)
    total, section, current = 0, 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            section += (current or 1) * _UNITS[ch]
            current = 0
        elif ch == "万":
            total += (section + current) * 10000
            section, current = 0, 0
        else:
            return None
    return total + section + current


# Words in which a numeral names no count: slogans and set phrases of government writing.
IDIOMS = ("一网通办", "一网统管", "一网协同", "一件事", "一次办", "一次性", "跑一次", "一站式", "一窗", "一门式", "一号通",
          "一体化", "一把手", "一线", "一律", "一致", "一般", "一些", "一起", "一批", "一事一议", "一案一档", "一件一档",
          "一对一", "一企一策", "一月一", "一季一", "一年一", "两微一端", "三公经费", "五公开", "最多跑一次")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_UNITS_OF_COUNT = "件个份条次起宗例项篇元万"


def is_count(text: str, start: int, end: int) -> bool:
    """Whether the number written at text[start:end] counts something, rather than being an
    ordinal (第一时间, 第二十条), an enumeration (一是、二是), a slogan (三个一, 两个责任, 一网通办,
    一件事), a percentage, a date, a year (《…办法》规定，2025), a document number (〔2020〕109号)
    or a hotline (12345热线)."""
    token = text[start:end]
    before, after = text[max(0, start - 4):start], text[end:end + 5]
    if before.endswith(("第", "百分之", "〔", "[", "（20", "(20")):
        return False
    if after[:1] in "%％‰是" or after.startswith(("个百分点", "〕", "]", "号", "热线", "平台")):
        return False
    if after[:1] in "年月日时" or after.startswith("周岁"):
        return False  # 2025年, 12月, 31日: dates and durations, not counts
    if token.isdigit() and len(token) == 4 and 1949 <= int(token) <= 2100 and after[:1] not in _UNITS_OF_COUNT:
        return False  # a year standing alone
    if after[:1] == "个" and _CJK.match(after[1:2] or "") and after[1:2] not in "，。；、":
        return False  # 三个一, 两个责任, 3个工作日: 个 classifies the noun that follows, not the thing counted
    window = text[max(0, start - 4):end + 5]
    offset = start - max(0, start - 4)
    for idiom in IDIOMS:
        at = window.find(idiom)
        while at != -1:
            if at <= offset < at + len(idiom):
                return False
            at = window.find(idiom, at + 1)
    return True


def expand(pattern: str) -> str:
    """``{n}`` → the number group; a rule's pattern must contain it exactly once."""
    return pattern.replace("{n}", NUMBER)


@lru_cache(maxsize=64)
def _sentences(text: str) -> tuple[tuple[str, str, int], ...]:
    """(sentence as written, compacted sentence, 1-based line) for the prose lines of text."""
    out: list[tuple[str, str, int]] = []
    buffer: list[str] = []
    start = 0
    table_line = _TABLE_LINE.search
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or ("\t" in stripped or (stripped[-1:].isdigit() and table_line(stripped))):
            if buffer:  # a blank or table line ends a paragraph
                out += _cut(" ".join(buffer), start)
                buffer = []
            continue
        if not buffer:
            start = number
        buffer.append(stripped)
    if buffer:
        out += _cut(" ".join(buffer), start)
    return tuple(out)


_SPACE = re.compile(r"\s+")


def _cut(paragraph: str, line: int) -> list[tuple[str, str, int]]:
    pieces = [p.strip() for p in _SPLIT.split(paragraph)]
    pieces = [p for p in pieces if p]
    # One normalisation per paragraph: NFKC keeps 。！？； and never adds or removes them.
    compact = _SPACE.sub("", nfkc("\x00".join(pieces))).split("\x00")
    if len(compact) != len(pieces):  # pragma: no cover - defensive
        compact = [_SPACE.sub("", nfkc(p)) for p in pieces]
    return [(p, c, line) for p, c in zip(pieces, compact)]


def sentences(text: str) -> tuple[tuple[str, str, int], ...]:
    return _sentences(text or "")


@lru_cache(maxsize=64)
def _document(text: str) -> tuple[str, list[int]]:
    """All compacted sentences joined by a newline (which no rule pattern crosses: they
    stop at punctuation, and the check below makes sure), with each sentence's start."""
    starts, parts, pos = [], [], 0
    for _, compact, _ in sentences(text):
        starts.append(pos)
        parts.append(compact)
        pos += len(compact) + 1
    return "\n".join(parts), starts


def _first(pattern: re.Pattern, text: str, accept) -> tuple[int, re.Match] | None:
    """(sentence index, match) of the first match inside one sentence that ``accept`` takes.
    One search over the whole document instead of one per sentence: most patterns match
    nowhere, and finding that out costs a single pass."""
    joined, starts = _document(text)
    if not may_match(pattern, joined):
        return None
    pos = 0
    while True:
        m = pattern.search(joined, pos)
        if m is None:
            return None
        index = bisect_right(starts, m.start()) - 1
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(joined)
        if m.end() <= end:
            if accept(m):
                return index, m
            pos = m.start() + 1
        else:  # crossed a sentence end: search that sentence on its own, then go on after it
            inner = pattern.search(joined[starts[index]:end])
            if inner is not None and accept(inner):
                return index, inner
            pos = end + 1


def _number_of(pattern: re.Pattern):
    def accept(m: re.Match) -> bool:
        if "n" not in pattern.groupindex:
            return True
        return cn_number(m.group("n")) is not None and is_count(m.string, m.start("n"), m.end("n"))
    return accept


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+")


@lru_cache(maxsize=256)  # several rules ask it of the parser's same sentence and number
def quote_counts(quote: str, value) -> bool | None:
    """Whether a quoted sentence states ``value`` as a count: True when some occurrence of the
    number counts something, False when every occurrence is an idiom, ordinal, year…, None when
    the number is not written in it (a zero statement such as 未发生行政复议)."""
    compact = _SPACE.sub("", nfkc(quote or ""))
    seen = False
    for m in _TOKEN.finditer(compact):
        if cn_number(m.group(0)) != value:
            continue
        seen = True
        if is_count(compact, m.start(), m.end()):
            return True
    return False if seen else None


def find_number(patterns: tuple[re.Pattern, ...], text: str) -> tuple[float | int, str, int] | None:
    """First (value, quoted sentence, line) matched by any pattern, in document order (in
    one sentence, the first pattern that matches wins)."""
    return _find_number(tuple(patterns), text)


@lru_cache(maxsize=256)  # rules of different files read the same statement with the same patterns
def _find_number(patterns: tuple[re.Pattern, ...], text: str) -> tuple[float | int, str, int] | None:
    best = None
    for order, pattern in enumerate(patterns):
        found = _first(pattern, text, _number_of(pattern))
        if found and (best is None or found[0] < best[0]):
            best = (found[0], order, pattern, found[1])
    if best is None:
        return None
    index, _, pattern, m = best
    quote, _, line = sentences(text)[index]
    value = cn_number(m.group("n")) if "n" in pattern.groupindex else 0
    return value, quote, line


def find_statement(patterns: tuple[re.Pattern, ...], text: str) -> tuple[str, int] | None:
    """First sentence (quote, line) any pattern matches."""
    return _find_statement(tuple(patterns), text)


@lru_cache(maxsize=256)
def _find_statement(patterns: tuple[re.Pattern, ...], text: str) -> tuple[str, int] | None:
    best = None
    for pattern in patterns:
        found = _first(pattern, text, lambda m: True)
        if found and (best is None or found[0] < best):
            best = found[0]
    if best is None:
        return None
    quote, _, line = sentences(text)[best]
    return quote, line


def sentence_start(text: str, index: int) -> int:
    """Where the ``index``-th compacted sentence starts in the text ``matches`` searches."""
    return _document(text)[1][index]


def matches(pattern: re.Pattern, text: str):
    """(sentence index, match) of every match that lies inside one sentence."""
    joined, starts = _document(text)
    if not may_match(pattern, joined):
        return
    for m in pattern.finditer(joined):
        index = bisect_right(starts, m.start()) - 1
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(joined)
        if m.end() <= end:
            yield index, m


def clear_caches() -> None:
    """Forget cached sentences (benchmarks measure a report read for the first time)."""
    for cached in (_sentences, _document, _find_number, _find_statement, quote_counts):
        cached.cache_clear()


def scope_marker(quote: str, markers: tuple[str, ...] = SCOPE_MARKERS) -> str | None:
    compact = re.sub(r"\s+", "", quote or "")
    return next((m for m in markers if m in compact), None)


def shorten(quote: str, limit: int = 80) -> str:
    quote = " ".join((quote or "").split())
    return quote if len(quote) <= limit else quote[: limit - 1] + "…"
