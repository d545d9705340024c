"""The parsed report: the canonical shape of ../shared/docs/report-fields.md.

Everything downstream (rules, database, notices) speaks these keys; nothing downstream
knows how a table was laid out in the source document.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Section keys in template order, with their canonical headings.
SECTION_KEYS: dict[str, str] = {
    "overview": "一、总体情况",
    "active": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况",
    "appeals": "四、政府信息公开行政复议、行政诉讼情况",
    "problems": "五、存在的主要问题及改进情况",
    "other": "六、其他需要报告的事项",
}

# Facts of meta the reading may or may not establish, and the key saying how it did.
# ``meta["year"]`` is None unless the document establishes it: its title ("title"), its
# statistics period 1月1日至12月31日 ("period") or its own name near the top ("text").
# ``meta["template"]`` is "2021", "2019" or "unknown"; ``template_source`` says whether
# the tables' own columns or rows show it ("tables") or only the year implies it ("year").
# ``level_hint`` is "government" or "department" when the agency's own name says so
# (``level_hint_word``: 人民政府, 街道办事处, 局, 委 …), else None.
META_FACTS = {"year": "year_source", "template": "template_source", "level": "level_hint"}

APPLICANT_COLUMNS = ("natural", "business", "research", "nonprofit", "legal", "other_org", "total")


@dataclass
class Section:
    present: bool
    heading: str | None = None
    chars: int = 0
    line: int | None = None  # 1-based line (or paragraph) where the heading stands


@dataclass
class ParsedReport:
    meta: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Section] = field(default_factory=dict)
    fields: dict[str, int | float] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    doubtful: dict[str, str] = field(default_factory=dict)
    narrative: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    text: str = ""  # the plain text the parser read (for pattern rules and quotes)
    # A scan's table numbers: key → {"page", "confidence", "text" as recognised} (ocr_check.py).
    ocr: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self, *, with_text: bool = False) -> dict[str, Any]:
        data = {
            "meta": dict(self.meta),
            "sections": {k: asdict(v) for k, v in self.sections.items()},
            "fields": dict(self.fields),
            "where": dict(self.where),
            "doubtful": dict(self.doubtful),
            "narrative": dict(self.narrative),
            "problems": list(self.problems),
        }
        if self.ocr:
            data["ocr"] = dict(self.ocr)
        if with_text:
            data["text"] = self.text
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ParsedReport":
        return cls(
            meta=dict(data.get("meta", {})),
            sections={k: Section(**v) for k, v in data.get("sections", {}).items()},
            fields=dict(data.get("fields", {})),
            where=dict(data.get("where", {})),
            doubtful=dict(data.get("doubtful", {})),
            narrative=dict(data.get("narrative", {})),
            problems=list(data.get("problems", [])),
            text=data.get("text", ""),
            ocr=dict(data.get("ocr", {})),
        )
