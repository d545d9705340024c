"""A finding's evidence as sentences a person reads: each number with where it stands in the
report (表三“一、本年新收”行自然人列 31 件), the arithmetic written out (31 + 2 = 33，…), the
quoted sentence, the basis in words; and the cells to highlight in the report's own table.

The evidence dict stays as it is for the API; this only reads it. Every evidence shape the
checks write is recognised by its keys; a shape this module does not know yields no lines
(the finding's message still says what is wrong), never a dump of keys.
Must not evaluate anything or read reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from documents.report import SECTION_KEYS
from rules.fields import cell_label, cell_value, is_known_field, layout_label
from rules.messages import format_number

BASIS_NOTE = {"VERIFIED": "", "IMPLIED": "（据表格勾稽关系推定）", "CORROBORATED": "（据通行格式）",
              "UNVERIFIED": "（仅供参考）"}
OPERATORS = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">"}
_KEY = re.compile(r"\b(?:previous\.)?(?:apply|review|litigation|active|active2019|meta|agency)(?:\.[a-z_0-9]+)+\b")
_COMPARISON = re.compile(r"\s(==|!=|<=|>=|<|>)\s")
_PLAIN_ARITHMETIC = re.compile(r"^[\s\d.+\-*/()]*$")
_QUOTE_MAX = 80


@dataclass
class Explained:
    lines: list[str] = field(default_factory=list)  # sentences, in reading order
    cells: list[str] = field(default_factory=list)  # field keys the finding concerns (to highlight)
    basis: str = ""  # the legal or template basis, in words

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "cells": self.cells, "basis": self.basis}


def basis_text(basis: Mapping[str, Any] | None) -> str:
    basis = basis or {}
    text = str(basis.get("text") or "").strip()
    if not text:
        return ""
    return text + BASIS_NOTE.get(str(basis.get("status") or "VERIFIED"), "")


def _number(value: Any) -> str:
    return format_number(value) if isinstance(value, (int, float)) else str(value)


def _quote(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= _QUOTE_MAX else text[:_QUOTE_MAX] + "…"


def _line(line: Any) -> str:
    return f"（原文第{line}行）" if isinstance(line, int) else ""


def _day(value: Any) -> str:
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d.year}年{d.month}月{d.day}日"


def _section(key: Any) -> str:
    return SECTION_KEYS.get(str(key), str(key))


def _table_cells(values: Mapping[str, Any], missing: set) -> tuple[list[str], list[str]]:
    """One sentence per stated cell, and the keys to highlight (this year's table cells only)."""
    lines, cells = [], []
    for key, value in values.items():
        if not isinstance(key, str) or not is_known_field(key):
            continue
        if key.startswith(("meta.", "agency.")):
            continue
        if key not in missing:
            lines.append(f"{cell_label(key)}：{cell_value(key, value)}")
        if not key.startswith("previous."):
            cells.append(key)
    return lines, cells


def _side(source: str, values: Mapping[str, Any]) -> str | None:
    """One side of a comparison with the numbers put in (31 + 2), or None when it is not plain arithmetic."""
    missing = []

    def put(match: re.Match) -> str:
        key = match.group(0)
        value = values.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            missing.append(key)
            return "0"
        return _number(value)

    filled = _KEY.sub(put, source).strip()
    if missing or not _PLAIN_ARITHMETIC.match(filled):
        return None
    filled = re.sub(r"\s+", " ", filled.replace("*", "×").replace("/", "÷"))
    terms = [t.strip() for t in filled.split("+")]
    if len(terms) > 6 and all(re.fullmatch(r"\d+(\.\d+)?", t) for t in terms):
        # A long sum: the nonzero terms are what a reader checks.
        nonzero = [t for t in terms if float(t) != 0]
        zeros = len(terms) - len(nonzero)
        filled = " + ".join(nonzero or ["0"]) + (f"（其余{zeros}项为0）" if zeros and nonzero else "")
    return filled


def _arithmetic(evidence: Mapping[str, Any]) -> str:
    source = str(evidence.get("expression") or "")
    values = evidence.get("fields") or {}
    match = _COMPARISON.search(source)
    if not match or " and " in source or " or " in source or not isinstance(values, dict):
        return ""
    if not any(op in source for op in ("+", "-", "*", "/")):
        return ""  # a single cell against a constant: the cell's line says it all
    left_src, right_src = source[:match.start()], source[match.end():]
    left, right = _side(left_src, values), _side(right_src, values)
    if left is None or right is None:
        return ""
    lv, rv = evidence.get("left"), evidence.get("right")
    op = OPERATORS[match.group(1)]
    left_text = left if lv is None or left == _number(lv) else f"{left} = {_number(lv)}"
    right_text = right if rv is None or right == _number(rv) else f"{right} = {_number(rv)}"
    diff = evidence.get("diff")
    if op == "=":
        tail = f"两者相差 {_number(abs(diff))}" if isinstance(diff, (int, float)) and diff else "两者不相等"
        return f"算式：{left_text}；{right_text}；{tail}。"
    return f"应满足 {left} {op} {right}，实际为 {_number(lv) if lv is not None else left} 与 {_number(rv) if rv is not None else right}，不满足。"


def doubt_reason(reason: Any) -> str:
    text = str(reason or "")
    m = re.search(r"recognised from a scan as (\S+) \(confidence ([\d.]+)\)", text)
    if m:
        wanted = re.search(r"and (\S+) would make it hold", text)
        return (f"识别自扫描件，识别为{m.group(1)}（置信度{m.group(2)}），与表格勾稽关系不符"
                + (f"，若为{wanted.group(1)}则相符" if wanted else "") + "；未采用")
    m = re.search(r"row has (\d+) values for (\d+) columns", text)
    if m:
        return f"该行填了{m.group(1)}个数值而表格只有{m.group(2)}列，无法确定各数值属于哪一列"
    return text if re.search(r"[\u4e00-\u9fff]", text) else "读取结果不确定"


def explain(finding: Mapping[str, Any]) -> Explained:
    """Sentences and cells for one finding (a Finding row as a dict, or an Outcome's fields).
    A sentence the finding's message already says is left out."""
    out = _explain(finding)
    message = str(finding.get("message") or "")
    out.lines = [line for line in dict.fromkeys(out.lines) if line.rstrip("。") not in message]
    return out


def not_evaluated_reason(finding: Mapping[str, Any]) -> str:
    """Why a rule could not be judged, in a few words shared by many findings (for grouping)."""
    ev = finding.get("evidence") or {}
    message = str(finding.get("message") or "")
    if isinstance(ev, dict) and ev.get("doubtful"):
        return "表格数据读取存疑"
    if isinstance(ev, dict) and isinstance(ev.get("missing"), list) and any("." in str(k) for k in ev["missing"]):
        return "报告未填写所需的表格数据"
    if "正文文字" in message:
        return "未取得报告正文文字"
    if "发布日期" in message:
        return "未能确定发布日期"
    if "上年度" in message or "上一年" in message:
        return "没有可比对的上年度报告"
    reason = re.sub(r"^未评估[：:]", "", message).strip()
    return reason or "未能评估"


def _explain(finding: Mapping[str, Any]) -> Explained:
    ev = finding.get("evidence") or {}
    out = Explained(basis=basis_text(finding.get("basis")))
    if not isinstance(ev, dict):
        return out
    lines = out.lines

    # Table cells: expression checks ("fields"), narrative checks ("table_fields"), one cell ("field").
    cells_of = ev.get("fields") if isinstance(ev.get("fields"), dict) else ev.get("table_fields")
    if isinstance(cells_of, dict):
        said, out.cells = _table_cells(cells_of, set(ev.get("missing") or ()))
        if said:
            lines.append("涉及的数据：" + "；".join(said) + "。")
        arithmetic = _arithmetic(ev) if "expression" in ev else ""
        if arithmetic:
            lines.append(arithmetic)
    elif isinstance(ev.get("field"), str) and is_known_field(ev["field"]):
        key = ev["field"]
        out.cells = [key] if not key.startswith("previous.") else []
        lines.append(f"{cell_label(key)}：{cell_value(key, ev.get('value'))}。")
    if isinstance(ev.get("missing"), list) and ev["missing"] and all(isinstance(k, str) and "." in k for k in ev["missing"]):
        names = [cell_label(k) for k in ev["missing"]]
        lines.append("报告未填写：" + "、".join(names[:5]) + (f"等{len(names)}项" if len(names) > 5 else "") + "。")
    if isinstance(ev.get("doubtful"), dict) and ev["doubtful"]:
        lines.append("读取存疑：" + "；".join(f"{cell_label(k)}（{doubt_reason(v)}）" for k, v in ev["doubtful"].items()) + "。")
    if isinstance(ev.get("scanned"), dict) and ev["scanned"]:
        lines.append("以上数据识别自扫描件（文字识别），请以报告原件核对。")

    # Prose against the table (narrative checks).
    if "prose_value" in ev:
        quote = f"“{_quote(ev.get('quote'))}”" if ev.get("quote") else ""
        lines.append(f"正文所述数量：{_number(ev['prose_value'])}{('，原文' + quote) if quote else ''}{_line(ev.get('line'))}。")
        if ev.get("table_value") is not None:
            lines.append(f"表格中的数量：{_number(ev['table_value'])}。")

    # Replies within the legal period (replies checks): each statement quoted once.
    quoted = set()
    for name, what in (("received", "收到申请"), ("on_time", "按期答复"), ("extended", "延期答复"), ("all_on_time", "均按期答复")):
        item = ev.get(name)
        if isinstance(item, dict) and item.get("quote"):
            value = f"{_number(item['value'])} 件" if isinstance(item.get("value"), (int, float)) else ""
            quote = _quote(item["quote"])
            lines.append(f"{what}{('：' + value) if value else ''}" + ("" if quote in quoted else f"，原文“{quote}”") + "。")
            quoted.add(quote)

    # Sections: present, empty, order, headings inside a section.
    if "section" in ev and ("state" in ev or "expected_heading" in ev):
        heading = ev.get("found_heading") or ev.get("expected_heading") or _section(ev["section"])
        state = ev.get("state")
        chars = ev.get("chars")
        detail = f"，正文 {chars} 字" if isinstance(chars, int) else ""
        lines.append(f"“{heading}”部分：{state or '已找到'}{detail}{_line(ev.get('line'))}。")
    if isinstance(ev.get("found_order"), list):
        lines.append("实际顺序：" + "、".join(_section(k) for k in ev["found_order"]) + "。")
    if isinstance(ev.get("items"), list) and ev["items"]:
        shown = [f"第{i.get('line')}行“{_quote(i.get('text'))}”" for i in ev["items"][:3] if isinstance(i, dict)]
        lines.append("部分内的列表：" + "；".join(shown) + ("等" if len(ev["items"]) > 3 else "") + "。")
        if ev.get("ambiguous_heading"):
            lines.append(f"随后的标题“{ev['ambiguous_heading']}”看似该列表的下一项。")

    # Deadlines (deadline and missing checks).
    if "deadline" in ev:
        said = f"截止日期：{_day(ev['deadline'])}"
        if ev.get("published_on"):
            said += f"；发布日期：{_day(ev['published_on'])}"
            if isinstance(ev.get("days_late"), int) and ev["days_late"] > 0:
                said += f"；晚 {ev['days_late']} 天"
        elif ev.get("today"):
            said += f"；核查日期：{_day(ev['today'])}"
        if ev.get("override"):
            said += "（本地规定的截止日期）"
        lines.append(said + "。")

    # Words looked for in a part of the text (topics checks) and words found (pattern checks).
    if "scope" in ev and isinstance(ev.get("missing"), list) and ev["missing"] and not any("." in str(k) for k in ev["missing"]):
        if not all(str(k) in str(finding.get("message") or "") for k in ev["missing"]):
            lines.append(f"{ev['scope']}未提及：" + "、".join(str(k) for k in ev["missing"]) + "。")
        if isinstance(ev.get("found"), dict) and ev["found"]:
            lines.append("已提及：" + "、".join(str(k) for k in ev["found"]) + "。")
    if isinstance(ev.get("matches"), list) and ev["matches"]:
        shown = []
        for m in ev["matches"][:5]:
            if isinstance(m, dict) and (m.get("quote") or m.get("match")):
                shown.append(f"{_line(m.get('line')).strip('（）') or '原文'}：“{_quote(m.get('quote') or m.get('match'))}”")
        if shown:
            lines.append("原文中的位置：" + "；".join(shown) + ("等" if len(ev["matches"]) > 5 else "") + "。")

    # Layout: missing rows and columns of a table.
    # Rows and columns are named as the table names them, never by their keys.
    for key, part, what in (("missing_rows", "rows", "缺少的行"), ("missing_columns", "columns", "缺少的列")):
        if isinstance(ev.get(key), list) and ev[key]:
            names = [layout_label(str(ev.get("table") or ""), part, str(x)) for x in ev[key]]
            if all(name in str(finding.get("message") or "") for name in names):
                continue  # the message names them all already
            lines.append(f"{what}：" + "、".join(names[:8]) + ("等" if len(names) > 8 else "") + "。")

    # The parser's notes (problems checks).
    if isinstance(ev.get("problems"), list) and ev["problems"] and isinstance(ev["problems"][0], dict):
        from rules.audits import describe_problem

        lines.extend(dict.fromkeys(describe_problem(p) + "。" for p in ev["problems"][:5]))

    # Year over year (history checks).
    if isinstance(ev.get("similarity"), (int, float)):
        lines.append(f"与{ev.get('previous_year') or '上'}年度报告正文的相似度为 {ev['similarity']:.0%}。")
    if "compared" in ev and "previous_year" in ev:
        lines.append(f"与{ev['previous_year']}年度报告比对了 {ev['compared']} 项表格数据。")

    # Carried-over applications (carryover checks).
    if ev.get("receipt_from"):
        lines.append(f"按法定期限推算，{_day(ev['receipt_from'])}以后收到的申请可以结转到下一年办理"
                     + (f"（延期答复的，{_day(ev['receipt_from_extended'])}以后）" if ev.get("receipt_from_extended") else "")
                     + "。")
    if ev.get("quote") and "prose_value" not in ev:
        lines.append(f"原文：“{_quote(ev['quote'])}”{_line(ev.get('line'))}。")
    return out


def cells_of(finding: Mapping[str, Any]) -> list[str]:
    return explain(finding).cells


def group_not_evaluated(findings) -> list[dict]:
    """Findings not evaluated, grouped by why, the reason said once:
    [{"reason", "count", "rules": [{"rule_id", "title", "subjects": [...]}], "blanks": "…"}], biggest first."""
    from rules.fields import COLUMN_LABELS, subject_label

    groups: dict[str, dict] = {}
    for f in findings:
        reason = not_evaluated_reason(f)
        group = groups.setdefault(reason, {"reason": reason, "count": 0, "rules": {}, "missing": []})
        group["count"] += 1
        rule = group["rules"].setdefault(f.get("rule_id"), {"rule_id": f.get("rule_id"), "title": f.get("title", ""),
                                                           "subjects": []})
        about = subject_label(str(f.get("subject") or ""))
        if about and about not in rule["subjects"]:
            rule["subjects"].append(about)
        ev = f.get("evidence") or {}
        if isinstance(ev, dict) and isinstance(ev.get("missing"), list):
            group["missing"].extend(k for k in ev["missing"] if isinstance(k, str) and not k.startswith("previous."))
    out = []
    for group in sorted(groups.values(), key=lambda g: -g["count"]):
        missing = list(dict.fromkeys(group.pop("missing")))
        columns: dict[str, int] = {}
        others = []
        for key in missing:
            col = key.rsplit(".", 1)[-1]
            if key.startswith("apply.") and col in COLUMN_LABELS:
                columns[col] = columns.get(col, 0) + 1
            else:
                others.append(cell_label(key))
        said = [f"表三{COLUMN_LABELS[c]}列{n}格" for c, n in columns.items()] + others[:5]
        group["blanks"] = ("、".join(said) + ("等" if len(others) > 5 else "")) if said else ""
        group["rules"] = list(group["rules"].values())
        for rule in group["rules"]:
            subjects = rule["subjects"]
            rule["subjects_text"] = "、".join(subjects[:5]) + (f"等{len(subjects)}项" if len(subjects) > 5 else "")
        out.append(group)
    return out
