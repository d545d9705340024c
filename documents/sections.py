"""Find the six section headings of an annual report, by meaning and in order.

A heading is a short line numbered 一、… (or 1.) whose words say which section it is
(主动公开 → active, 复议/诉讼 → appeals, …). Headings must come in template order: a
heading is only taken for a section after the last one found, and its numeral must agree
with its place unless its wording is close to the canonical heading. That keeps a list
numbered 一、二、… inside section 五 from restarting the report, while the real
六、其他需要报告的事项 that ends such a list is still found.

This module must not read tables or numbers.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from documents.encoding import nfkc
from documents.report import SECTION_KEYS, Section

_ORDER = list(SECTION_KEYS)
_NUMERALS = {ch: i for i, ch in enumerate("一二三四五六七八九十", start=1)}
_NUMBERED = re.compile(r"^(?:第([一二三四五六七八九十])(?:部分|章)[、.:：\s]*|([一二三四五六七八九十])\s*[、.．]\s*|([1-9])\s*[、.．]\s*)(.*)$")
_KEYWORDS = {
    "overview": re.compile(r"总体情况|基本情况|总体|概述|概况"),
    "active": re.compile(r"主动公开"),
    "requests": re.compile(r"(收到|处理|办理|依).{0,8}申请|申请.{0,6}(情况|办理|处理)"),
    "appeals": re.compile(r"复议|诉讼"),
    "problems": re.compile(r"问题|整改|改进"),
    "other": re.compile(r"其他.{0,6}(报告|事项)"),
}
# Extra canonical spellings (Art. 50 wording used by some agencies, e.g. Shanghai 2022).
_VARIANTS = {
    "appeals": ["因政府信息公开工作被申请行政复议和提起行政诉讼情况"],
    "problems": ["政府信息公开工作存在的主要问题及改进情况", "存在的主要问题及整改措施"],
}
# Where a web page's body ends: portal footers must not count as section 六's text.
_FOOTER = re.compile(r"^[【\[]?\s*(打印本页|打印|关闭窗口|关闭)\s*[】\]]?$|版权所有|主办单位|网站标识码|ICP备|上一篇|下一篇|相关链接|分享到")


_SPACE = re.compile(r"\s+")
_SUB_HEADING = re.compile(r"^\s*[(（〔]")
_NUMBER_PREFIX = re.compile(r"^\s*(?:第[一二三四五六七八九十](?:部分|章)|[一二三四五六七八九十1-9]\s*[、.．])")
_CLAUSE_END = re.compile(r"[。；;:：]")
_SENTENCE_MARK = re.compile(r"[。，,；;！!？?]")
_WORD_END = re.compile(r"[\s，,]")
# Any section's keywords: a line without one cannot be a heading (heads are parts of it).
_ANY_KEYWORD = re.compile("|".join(p.pattern for p in _KEYWORDS.values()))


def _compact(text: str) -> str:
    return _SPACE.sub("", nfkc(text))


# Each section's canonical heading and variants, compacted once.
_CANON = {key: [_compact(c) for c in [SECTION_KEYS[key].split("、", 1)[1], *_VARIANTS.get(key, [])]]
          for key in _ORDER}


def _similar(key: str, text: str, threshold: float) -> bool:
    """Whether the text reads like the section's heading (a SequenceMatcher ratio of at
    least ``threshold`` against one of its spellings); the cheap upper bounds of the ratio
    (real_quick_ratio ≥ quick_ratio ≥ ratio) rule most texts out before the full ratio."""
    for canon in _CANON[key]:
        m = SequenceMatcher(None, canon, text)
        if m.real_quick_ratio() >= threshold and m.quick_ratio() >= threshold and m.ratio() >= threshold:
            return True
    return False


def _candidates(normal: str, text: str) -> tuple[int | None, list[str]]:
    """Numeral (1-based) and the heading text candidates of a line, given the line after
    NFKC (``normal``) and the same without whitespace (``text``)."""
    m = _NUMBERED.match(text)
    numeral = None
    if m:
        numeral = _NUMERALS.get(m.group(1) or m.group(2) or "") or (int(m.group(3)) if m.group(3) else None)
        text = m.group(4)
    spaced = _NUMBER_PREFIX.sub("", normal).strip()
    heads = [_CLAUSE_END.split(text, 1)[0], _WORD_END.split(spaced, 1)[0] if spaced else ""]
    return numeral, [h for h in heads if 2 <= len(h) <= 40]


def match_heading(line: str, after: int) -> str | None:
    """The section key this line heads, if it is a heading for a section after index ``after``."""
    if len(line.strip()) > 80:
        return None
    normal = nfkc(line)
    if _SUB_HEADING.match(normal):
        return None  # （一）… numbers a sub-heading inside a section, never a section
    compact = _SPACE.sub("", normal)
    if not _ANY_KEYWORD.search(compact):
        return None  # most lines: prose and labels that name no section
    numeral, heads = _candidates(normal, compact)
    if numeral is None and _SENTENCE_MARK.search(compact):
        return None  # an unnumbered line of prose that starts like a heading (a wrapped PDF line)
    for index in range(after + 1, len(_ORDER)):
        key = _ORDER[index]
        for head in heads:
            if not _KEYWORDS[key].search(head):
                continue
            if numeral is not None and numeral == index + 1:
                return key
            # An unnumbered line must read almost like the heading; a numbered one whose
            # numeral disagrees with its place, even closer.
            if _similar(key, head, 0.75 if numeral is None else 0.8):
                return key
    return None


def body_end(lines: list[str]) -> int:
    """Number of the last line of the report body (portal footers excluded)."""
    for number, line in enumerate(lines, start=1):
        if number > len(lines) // 2 and _FOOTER.search(line.strip()) and len(line.strip()) < 40:
            return number - 1
    return len(lines)


def find_sections(lines: list[str], skip: set[int] | None = None) -> dict[str, Section]:
    """Sections keyed as SECTION_KEYS; ``skip`` holds lines that are table rows."""
    skip = skip or set()
    found: list[tuple[str, int]] = []
    last = -1
    for number, line in enumerate(lines, start=1):
        if number in skip or not line.strip():
            continue
        key = match_heading(line, last)
        if key is not None:
            found.append((key, number))
            last = _ORDER.index(key)
    end = body_end(lines)
    sections = {key: Section(present=False) for key in _ORDER}
    for i, (key, number) in enumerate(found):
        stop = found[i + 1][1] - 1 if i + 1 < len(found) else end
        body = lines[number:stop]  # lines after the heading (0-based slice of 1-based numbers)
        chars = sum(len(_SPACE.sub("", line)) for line in body)
        sections[key] = Section(present=True, heading=lines[number - 1].strip(), chars=chars, line=number)
    return sections


def regions(sections: dict[str, Section], total_lines: int) -> dict[str, tuple[int, int]]:
    """For each present section, the (first, last) line numbers of its body."""
    present = sorted((s.line, k) for k, s in sections.items() if s.present and s.line)
    out: dict[str, tuple[int, int]] = {}
    for i, (line, key) in enumerate(present):
        stop = present[i + 1][0] - 1 if i + 1 < len(present) else total_lines
        out[key] = (line + 1, stop)
    return out
