"""Reading one table cell: a number, a blank, or a label.

Numbers are read after NFKC (full-width digits), with thousands separators and units
(件, 元, 万元) removed; the unit is returned so a caller can convert 元 to 万元. Blank,
"—", "/", "无" mean "not filled in" and are never read as 0. Labels are normalised for
matching by meaning: numbering (一、 （三） 1.), notes in brackets, spaces and
punctuation removed.

This module must not know report keys or table layouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from documents.encoding import nfkc

# A table cell with ink that OCR recognised no number in (ocr.py writes it so): not a blank,
# not a number, not a label; rows.fit makes its field doubtful, so no rule judges it.
UNREAD_CELL = "\ufffd"
UNREAD_REASON = "识别自扫描件：单元格有字迹但未能识别"
_BLANKS = {"", "—", "——", "–", "-", "--", "/", "\\", "无", "空", "n/a", "na", "null", "none", "×", "*", "…", "..."}
_NUMBER = re.compile(r"^([-+]?)(\d+(?:\.\d+)?)(万元|元|件|个|条|项|起|次|宗|人次|%)?$")


@dataclass(frozen=True)
class Value:
    kind: str  # "number", "blank", "label", or "unread" (UNREAD_CELL)
    number: int | float | None = None
    unit: str | None = None


@lru_cache(maxsize=8192)  # a report repeats "0" hundreds of times
def read_cell(text: str) -> Value:
    raw = nfkc(text).strip().lower()
    if raw == UNREAD_CELL:
        return Value("unread")
    raw = re.sub(r"\s+", "", raw).replace("−", "-").replace("－", "-")
    if raw.strip("—–-_ ") == "" and raw != "" and len(raw) <= 4:
        return Value("blank")
    if raw in _BLANKS:
        return Value("blank")
    # Thousands separators: 12,124 (but keep "1,2" out: only groups of three digits).
    candidate = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", raw)
    m = _NUMBER.match(candidate)
    if not m:
        return Value("label")
    sign, digits, unit = m.groups()
    number: int | float = float(digits) if "." in digits else int(digits)
    if sign == "-":
        number = -number
    return Value("number", number, unit)


_NOTE = re.compile(r"[(（][^()（）]*[)）]")
_LEADING_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[.、．)）]|第[一二三四五六七八九十]+[项条])\s*"
)
_PUNCT = re.compile(r"[\s、，,。.．:：;；\"'“”‘’《》<>「」【】\[\]()（）/\\|\-—_·•]+")


def strip_numbering(label: str) -> str:
    text = nfkc(label).strip()
    for _ in range(3):  # "三、(一) 予以公开" carries two levels of numbering
        new = _LEADING_NUMBERING.sub("", text)
        if new == text:
            break
        text = new
    return text


@lru_cache(maxsize=8192)
def norm_label(label: str, *, keep_notes: bool = False) -> str:
    """Label reduced to its words: numbering, bracketed notes, spaces, punctuation gone."""
    text = strip_numbering(label)
    if not keep_notes:
        stripped = _NOTE.sub("", text)
        text = stripped if _PUNCT.sub("", stripped) else text
    return _PUNCT.sub("", text)


def display_label(label: str) -> str:
    """Label as written, on one line, for ``where`` entries."""
    return re.sub(r"\s+", " ", label).strip()
