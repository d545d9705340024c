"""The field keys a rule may speak, built in one place from ../shared/docs/report-fields.md.

Rules are validated against this set when they are loaded, so a typo such as
``apply.new.totl`` is a load error with a "did you mean", not a silent "not stated" at run
time. Also holds the Chinese labels used in messages and the named lists a ``for_each``
may iterate. Must not read reports or rule files.
"""

from __future__ import annotations

import re

from documents.report import APPLICANT_COLUMNS, SECTION_KEYS

COLUMN_LABELS: dict[str, str] = {
    "natural": "自然人",
    "business": "商业企业",
    "research": "科研机构",
    "nonprofit": "社会公益组织",
    "legal": "法律服务机构",
    "other_org": "其他",
    "total": "总计",
}

# Table 三 rows in template order (2021). Labels are short enough to sit in a sentence.
APPLY_ROW_LABELS: dict[str, str] = {
    "new": "一、本年新收政府信息公开申请数量",
    "carried": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开",
    "partial": "（二）部分公开",
    "withheld.state_secret": "（三）不予公开 1.属于国家秘密",
    "withheld.law_forbidden": "（三）不予公开 2.其他法律行政法规禁止公开",
    "withheld.security_stability": "（三）不予公开 3.危及“三安全一稳定”",
    "withheld.third_party": "（三）不予公开 4.保护第三方合法权益",
    "withheld.internal_affairs": "（三）不予公开 5.属于三类内部事务信息",
    "withheld.process_info": "（三）不予公开 6.属于四类过程性信息",
    "withheld.enforcement_file": "（三）不予公开 7.属于行政执法案卷",
    "withheld.inquiry": "（三）不予公开 8.属于行政查询事项",
    "unable.not_held": "（四）无法提供 1.本机关不掌握相关政府信息",
    "unable.needs_creation": "（四）无法提供 2.没有现成信息需要另行制作",
    "unable.unclear": "（四）无法提供 3.补正后申请内容仍不明确",
    "rejected.petition": "（五）不予处理 1.信访举报投诉类申请",
    "rejected.repeat": "（五）不予处理 2.重复申请",
    "rejected.publication": "（五）不予处理 3.要求提供公开出版物",
    "rejected.mass_repeat": "（五）不予处理 4.无正当理由大量反复申请",
    "rejected.confirm_existing": "（五）不予处理 5.要求行政机关确认或重新出具已获取信息",
    "other.no_correction": "（六）其他处理 1.申请人无正当理由逾期不补正",
    "other.unpaid_fee": "（六）其他处理 2.申请人逾期未按收费通知要求缴纳费用",
    "other.other": "（六）其他处理 3.其他",
    "results_total": "（七）总计",
    "carry_forward": "四、结转下年度继续办理",
}

RESULT_LEAF_ROWS_2021: tuple[str, ...] = tuple(
    r for r in APPLY_ROW_LABELS if r not in ("new", "carried", "results_total", "carry_forward")
)
# The 2019 trial template has a single 其他处理 row, keyed other.other (report-fields.md).
RESULT_LEAF_ROWS_2019: tuple[str, ...] = tuple(
    r for r in RESULT_LEAF_ROWS_2021 if r not in ("other.no_correction", "other.unpaid_fee")
)

APPEAL_GROUP_LABELS: dict[str, str] = {
    "review": "行政复议",
    "litigation.direct": "行政诉讼（未经复议直接起诉）",
    "litigation.after_review": "行政诉讼（复议后起诉）",
}
APPEAL_OUTCOME_LABELS: dict[str, str] = {
    "upheld": "结果维持",
    "corrected": "结果纠正",
    "other": "其他结果",
    "pending": "尚未审结",
    "total": "总计",
}

ACTIVE_FIELD_LABELS: dict[str, str] = {
    "active.rules.issued": "规章 本年制发件数",
    "active.rules.repealed": "规章 本年废止件数",
    "active.rules.in_force": "规章 现行有效件数",
    "active.normative.issued": "行政规范性文件 本年制发件数",
    "active.normative.repealed": "行政规范性文件 本年废止件数",
    "active.normative.in_force": "行政规范性文件 现行有效件数",
    "active.licensing.decisions": "行政许可 本年处理决定数量",
    "active.penalty.decisions": "行政处罚 本年处理决定数量",
    "active.enforcement.decisions": "行政强制 本年处理决定数量",
    "active.fees.amount": "行政事业性收费 本年收费金额（万元）",
}

# Numbers from meta that expressions may use (report.meta[...]); not table cells.
META_NUMBERS: dict[str, str] = {
    "meta.year": "报告年度",
    "meta.template": "报告格式（2021 或 2019，未识别为 0）",
    "agency.rulemaking": "机关是否有规章制定权（1 有，0 无）",
    "agency.government": "是否人民政府（1 是，0 否）",
}
PREVIOUS = "previous."  # prefix of last year's fields (history rules)
# The fact (rules.model.FACTS) each of these numbers needs; without it the rule does not run.
# meta.template needs the template the tables themselves show: compared with the year (STR-02),
# a template only inferred from that year would always agree.
FIELD_NEEDS: dict[str, str] = {"meta.year": "year", "meta.template": "table_template",
                               "agency.rulemaking": "rulemaking", "agency.government": "level"}


def _build_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for row, row_label in APPLY_ROW_LABELS.items():
        for col in APPLICANT_COLUMNS:
            keys[f"apply.{row}.{col}"] = f"表三 {row_label} / {COLUMN_LABELS[col]}"
    for group, group_label in APPEAL_GROUP_LABELS.items():
        for outcome, outcome_label in APPEAL_OUTCOME_LABELS.items():
            keys[f"{group}.{outcome}"] = f"表四 {group_label} / {outcome_label}"
    keys.update({k: f"表二 {v}" for k, v in ACTIVE_FIELD_LABELS.items()})
    keys.update(META_NUMBERS)
    return keys


# key -> Chinese description of the cell (used in evidence and messages).
FIELD_LABELS: dict[str, str] = _build_keys()
KNOWN_FIELDS: frozenset[str] = frozenset(FIELD_LABELS)

# report-fields.md names only the prefix of the 2019 section 二 keys, not the keys
# themselves; until it does, any well-formed active2019.* key is accepted.
_ACTIVE2019 = re.compile(r"^active2019(\.[a-z][a-z0-9_]*)+$")

# Lists a for_each may name instead of spelling the values out.
NAMED_LISTS: dict[str, tuple[str, ...]] = {
    "applicant_columns": tuple(APPLICANT_COLUMNS),
    "applicant_columns_without_total": tuple(c for c in APPLICANT_COLUMNS if c != "total"),
    "apply_rows": tuple(APPLY_ROW_LABELS),
    "apply_rows_2019": tuple(r for r in APPLY_ROW_LABELS if r not in ("other.no_correction", "other.unpaid_fee")),
    "result_leaf_rows_2021": RESULT_LEAF_ROWS_2021,
    "result_leaf_rows_2019": RESULT_LEAF_ROWS_2019,
    "appeal_groups": tuple(APPEAL_GROUP_LABELS),
    "section_keys": tuple(SECTION_KEYS),
}

# Labels for for_each values: "{c_label}" in a message looks the value up here.
VALUE_LABELS: dict[str, str] = {
    **APPLY_ROW_LABELS,
    **APPEAL_GROUP_LABELS,
    **SECTION_KEYS,
    **COLUMN_LABELS,  # last: "other" rows vs columns never collide ("other_org" is the column)
}


# --- where a cell stands, as the report names it (pages, notices, exports) -------------------
# "表三“一、本年新收”行自然人列": the table, the row and the column in the report's own words,
# short enough to sit in a sentence with the number.
APPLY_ROW_SHORT: dict[str, str] = {
    "new": "一、本年新收", "carried": "二、上年结转", "granted": "三（一）予以公开", "partial": "三（二）部分公开",
    **{row: "三" + label for row, label in APPLY_ROW_LABELS.items()
       if row.split(".")[0] in ("withheld", "unable", "rejected", "other")},
    "results_total": "三（七）总计", "carry_forward": "四、结转下年度继续办理",
}
ACTIVE_ROWS: dict[str, str] = {"rules": "规章", "normative": "行政规范性文件", "licensing": "行政许可",
                               "penalty": "行政处罚", "enforcement": "行政强制", "fees": "行政事业性收费"}
ACTIVE_COLUMNS: dict[str, str] = {"issued": "本年制发件数", "repealed": "本年废止件数", "in_force": "现行有效件数",
                                  "decisions": "本年处理决定数量", "amount": "本年收费金额"}
ACTIVE2019_ROWS: dict[str, str] = {**ACTIVE_ROWS, "normative": "规范性文件", "other_services": "其他对外管理服务事项",
                                   "procurement": "政府集中采购"}
ACTIVE2019_COLUMNS: dict[str, str] = {"new": "本年新制作数量", "published": "本年新公开数量", "total": "对外公开总数量",
                                      "prior_items": "上一年项目数量", "change": "本年增/减", "decisions": "处理决定数量",
                                      "items": "采购项目数量", "amount": "采购总金额"}
# Numbers the parser reads from the prose (ParsedReport.narrative keys).
NARRATIVE_LABELS: dict[str, str] = {
    "requests_received": "收到的申请", "answered_on_time": "按期答复的申请", "extended": "延期答复的申请",
    "reviews": "行政复议", "lawsuits": "行政诉讼", "carried_over": "结转的申请", "late": "逾期答复的申请",
    "documents_issued": "制发的规范性文件", "items_published": "主动公开的信息", "fees_collected": "收取的费用",
}
# Subjects of findings that are neither field keys nor for_each values.
SUBJECT_LABELS: dict[str, str] = {"order": "各部分顺序", "text": "正文", "tables": "表格数据"}


def cell_label(key: str) -> str:
    """Where a field stands in the report, e.g. 表三“一、本年新收”行自然人列; never the key itself."""
    if key.startswith(PREVIOUS):
        return "上年度报告" + cell_label(key[len(PREVIOUS):])
    parts = key.split(".")
    if parts[0] == "apply" and len(parts) >= 3:
        row, col = ".".join(parts[1:-1]), parts[-1]
        if row in APPLY_ROW_SHORT and col in COLUMN_LABELS:
            return f"表三“{APPLY_ROW_SHORT[row]}”行{COLUMN_LABELS[col]}列"
    if parts[0] in ("review", "litigation"):
        group, outcome = ".".join(parts[:-1]), parts[-1]
        if group in APPEAL_GROUP_LABELS and outcome in APPEAL_OUTCOME_LABELS:
            return f"表四 {APPEAL_GROUP_LABELS[group]}“{APPEAL_OUTCOME_LABELS[outcome]}”栏"
    if parts[0] == "active" and len(parts) == 3 and parts[1] in ACTIVE_ROWS and parts[2] in ACTIVE_COLUMNS:
        return f"表二“{ACTIVE_ROWS[parts[1]]}”行“{ACTIVE_COLUMNS[parts[2]]}”栏"
    if parts[0] == "active2019" and len(parts) == 3:
        row, col = ACTIVE2019_ROWS.get(parts[1]), ACTIVE2019_COLUMNS.get(parts[2])
        if row and col:
            return f"表二“{row}”行“{col}”栏"
    if key in META_NUMBERS:
        return META_NUMBERS[key]
    return "报告中的一项数据"


def unit_of(key: str) -> str:
    last = key.rsplit(".", 1)[-1]
    if last == "amount":
        return "万元"
    if last in ("prior_items", "change", "items"):
        return "项"
    if key.startswith(("meta.", "agency.", PREVIOUS + "meta.")):
        return ""
    return "件"


def cell_value(key: str, value) -> str:
    """A stated value with its unit (31 件, 1.5 万元); 未填写 when the report leaves it blank."""
    if value is None:
        return "未填写"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"“{value}”"
    shown = str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0").rstrip(".")
    unit = unit_of(key)
    return f"{shown} {unit}" if unit else shown


def subject_label(subject: str) -> str:
    """A finding's subject (a column, a row, a section, a cell) in words; "" for a whole-report rule."""
    if not subject:
        return ""
    if subject in SUBJECT_LABELS:
        return SUBJECT_LABELS[subject]
    if subject in VALUE_LABELS:
        label = VALUE_LABELS[subject]
        return f"{label}列" if subject in COLUMN_LABELS else label
    if is_known_field(subject) or "." in subject:
        return cell_label(subject)
    return subject


def layout_label(table: str, part: str, value: str) -> str:
    """A row or column of table 二, 三 or 四 as the table names it ("（六）其他处理 1.…", "“结果维持”列"),
    for what the layout check says is missing; a cell key (table 二) by its label."""
    names = {("三", "rows"): APPLY_ROW_LABELS, ("三", "columns"): COLUMN_LABELS,
             ("四", "rows"): APPEAL_GROUP_LABELS, ("四", "columns"): APPEAL_OUTCOME_LABELS}.get((table, part), {})
    if value in names:
        return f"“{names[value]}”列" if part == "columns" else names[value]
    return label_of(value)


def is_known_field(key: str) -> bool:
    if key.startswith(PREVIOUS):
        key = key[len(PREVIOUS):]
        if key.startswith("agency."):
            return False
    return key in KNOWN_FIELDS or bool(_ACTIVE2019.match(key))


def label_of(key: str) -> str:
    if key.startswith(PREVIOUS):
        return "上年度" + FIELD_LABELS.get(key[len(PREVIOUS):], key[len(PREVIOUS):])
    return FIELD_LABELS.get(key, key)
