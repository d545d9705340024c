"""Check kind ``rows``: every count the prose states about a row of the application table
(予以公开258件, 不予公开35件, 无法提供146件, 本机关不掌握相关政府信息12件 …) against that row.

A statement is compared only with what it speaks of. Its scope is read from its clause:
an applicant class named there (自然人, 法人或其他组织, 商业企业 …) narrows it to that column,
else it is the 总计. Where the scope cannot be read, nothing is said: a class named earlier
in the sentence (自然人申请15件，予以公开10件: of the natural persons' 15?), a clause about
applications carried over or about last year, or words saying the sentence covers part of
the agency (本级, 代表 …). A row is the sum of its sub-rows in the report's template; blank
cells count as the scoring.yaml blank policy says. Must not load files or score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from documents.report import ParsedReport
from rules import prose
from rules.checks import Kind, _message, blank_note, blanks_as_zero, field_values, outcome, register, section_text
from rules.fields import APPLY_ROW_LABELS, COLUMN_LABELS, RESULT_LEAF_ROWS_2019, RESULT_LEAF_ROWS_2021, label_of
from rules.messages import render_value
from rules.model import Context, Outcome, Rule
from rules.params import Issues, _section_or_all, check_keys
from rules.yamlmarks import line_of

LEGAL_COLUMNS = ("business", "research", "nonprofit", "legal", "other_org")
# Applicant classes as prose names them, longest first (法人或其他组织 before 法人).
APPLICANTS = (("法人或其他组织", LEGAL_COLUMNS), ("社会公益组织", ("nonprofit",)), ("法律服务机构", ("legal",)),
              ("商业企业", ("business",)), ("科研机构", ("research",)), ("社会组织", ("nonprofit",)),
              ("自然人", ("natural",)), ("法人", LEGAL_COLUMNS), ("企业", ("business",)))
_UNCLEAR = ("上年", "去年", "同比", "较", "结转", "代表", "本级", "机关本级", "部分单位", "各部门", "各单位", "各乡镇",
            "街道", "直属")
_FILLER = r"(?:的|类|为|共|计|合计|申请|答复|决定|情形|事项|了|有|均|已|[）)”」])"
_CLAUSE = re.compile(r"[，,；;：:。]")


@dataclass(frozen=True)
class RowSpec:
    name: str  # subject of the outcome
    label: str  # what the row is called, for messages
    rows: tuple[str, ...]  # table 三 row keys (apply.<row>.<c>) that add up to it; "withheld.*" globs
    patterns: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class RowsParams:
    specs: tuple[RowSpec, ...]
    section: str | None = None


def _compile(words: list[str]) -> tuple[re.Pattern, ...]:
    alternatives = "|".join(re.escape(w) for w in words)
    forward = re.compile(rf"(?<!不)(?:{alternatives}){_FILLER}{{0,3}}{prose.NUMBER}(?:件|个|份|条)")
    backward = re.compile(rf"{prose.NUMBER}(?:件|个|份|条)(?:申请)?(?:因|系|属于|被|均|已|为|予以)?(?<!不)(?:{alternatives})")
    return forward, backward


def parse_rows(check: dict, issues: Issues) -> RowsParams | None:
    check_keys(check, ("kind", "rows", "section"), "'rows' 检查", issues)
    raw = check.get("rows")
    example = "例如 'rows: {granted: {label: （一）予以公开, words: [予以公开], rows: [granted]}}'"
    if not isinstance(raw, dict) or not raw:
        issues.add(line_of(check, "rows", getattr(check, "line", None)), "rows_missing", example=example)
        return None
    specs = []
    for name, spec in raw.items():
        where = line_of(raw, name)
        if not isinstance(spec, dict):
            issues.add(where, "row_invalid", name=name, example=example)
            continue
        check_keys(spec, ("label", "words", "rows"), f"行 '{name}' ", issues)
        words, rows, label = spec.get("words"), spec.get("rows"), spec.get("label")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            issues.add(line_of(spec, "words", where), "row_words_invalid", name=name, example=example)
            continue
        if not isinstance(rows, list) or not rows or not all(isinstance(r, str) for r in rows):
            issues.add(line_of(spec, "rows", where), "row_rows_invalid", name=name, example=example)
            continue
        bad = [r for r in rows if not any(_row_match(r, k) for k in APPLY_ROW_LABELS)]
        if bad:
            issues.add(line_of(spec, "rows", where), "row_unknown", name=name, row=bad[0])
            continue
        specs.append(RowSpec(str(name), str(label or words[0]), tuple(rows), _compile(words)))
    if not specs:
        return None
    return RowsParams(tuple(specs), _section_or_all(check, issues))


def _row_match(pattern: str, row: str) -> bool:
    return row == pattern or (pattern.endswith(".*") and row.startswith(pattern[:-1]))


def _template_rows(spec: RowSpec, template: str) -> list[str]:
    """The leaf rows of the spec in this template (the 2019 format has one 其他处理 row)."""
    leaves = RESULT_LEAF_ROWS_2019 if template == "2019" else RESULT_LEAF_ROWS_2021
    rows = [r for r in APPLY_ROW_LABELS if r in leaves or r not in RESULT_LEAF_ROWS_2021]
    return [r for r in rows if any(_row_match(p, r) for p in spec.rows)]


def _clause_start(compact: str, start: int) -> int:
    return max((m.end() for m in _CLAUSE.finditer(compact, 0, start)), default=0)


def applicant_scope(compact: str, start: int) -> tuple[str, ...] | None:
    """The columns a number at ``start`` of a compacted sentence speaks of: ("total",), the
    columns of the one applicant class its clause names, or None when a class named earlier in
    the sentence may still govern it (自然人申请15件，予以公开10件) or the clause names two."""
    clause_start = _clause_start(compact, start)
    clause = compact[clause_start:start]
    named = {cols for word, cols in APPLICANTS if word in clause}
    if named:
        return named.pop() if len(named) == 1 else None
    return None if any(word in compact[:clause_start] for word, _ in APPLICANTS) else ("total",)


def _scope(compact: str, start: int) -> tuple[str, ...] | None:
    """applicant_scope, and None as well for a clause about last year, carried-over
    applications or part of the agency."""
    if any(word in compact[_clause_start(compact, start):start] for word in _UNCLEAR):
        return None
    return applicant_scope(compact, start)


def statements(text: str, spec: RowSpec):
    """(value, columns, quote, line) for each statement of the row in the text."""
    sentences = prose.sentences(text)
    for pattern in spec.patterns:
        for index, m in prose.matches(pattern, text):
            if not prose.is_count(m.string, m.start("n"), m.end("n")):
                continue
            quote, compact, line = sentences[index]
            columns = _scope(compact, m.start() - prose.sentence_start(text, index))
            value = prose.cn_number(m.group("n"))
            yield value, columns, quote, line


def run_rows(rule: Rule, p: RowsParams, report: ParsedReport, ctx: Context) -> list[Outcome]:
    text, scope, offset = section_text(report, p.section)
    template = str(report.meta.get("template") or "2021")
    values = field_values(report, ctx)
    out: list[Outcome] = []
    for spec in p.specs:
        found = [s for s in statements(text, spec) if s[0] is not None]
        readable = [s for s in found if s[1] is not None]
        if not readable:
            continue  # not stated, or stated with a scope we cannot read: nothing to say
        rows = _template_rows(spec, template)
        verdicts = []
        for value, columns, quote, line in readable:
            keys = [f"apply.{r}.{c}" for r in rows for c in columns]
            evidence: dict[str, Any] = {"quote": quote, "line": line + offset, "prose_value": value,
                                        "row": spec.label, "columns": list(columns), "scope": scope,
                                        "where": {k: report.where[k] for k in keys if k in report.where}}
            doubts = {k: report.doubtful[k] for k in keys if k in report.doubtful}
            missing = [k for k in keys if k not in values]
            as_zero = blanks_as_zero(report, missing, ctx.previous)
            if doubts:
                evidence["doubtful"] = doubts
                verdicts.append(("not_evaluated", "未评估：表格数据读取存疑（"
                                 + "；".join(f"{label_of(k)}：{v}" for k, v in doubts.items()) + "）。", evidence))
                continue
            if missing and not as_zero:
                if len(missing) == len(keys):
                    continue  # the table does not have the row at all: STR-04 says so
                evidence["missing"] = missing
                verdicts.append(("not_evaluated", f"未评估：报告表格未填写{'、'.join(label_of(k) for k in missing[:3])}。",
                                 evidence))
                continue
            if as_zero:
                evidence.update(blank_as_zero=as_zero, note=blank_note(as_zero))
            table = sum(values.get(k, 0) for k in keys)
            evidence.update(table_value=table, fields={k: values.get(k) for k in keys})
            column = "总计" if columns == ("total",) else (
                "法人或其他组织" if columns == LEGAL_COLUMNS else COLUMN_LABELS[columns[0]])
            if abs(value - table) < 1e-9:
                verdicts.append(("pass", f"正文所述{spec.label}{render_value(value)}件与表格一致。", evidence))
                continue
            evidence["diff"] = value - table
            note = f"（{evidence['note']}）" if as_zero else ""
            message = _message(rule, {"quote": prose.shorten(quote), "row": spec.label, "column": column,
                                      "prose": value, "table": table, "diff": value - table}) + note
            verdicts.append(("fail", message, evidence))
        if not verdicts:
            continue
        status, message, evidence = next((v for v in verdicts if v[0] == "fail"), None) or \
            next((v for v in verdicts if v[0] == "not_evaluated"), None) or verdicts[0]
        out.append(outcome(rule, spec.name, status, message, evidence))
    return out


register("rows", Kind(parse_rows, run_rows, lambda p: {"rule_id", "title", "quote", "row", "column", "prose",
                                                       "table", "diff"},
                      "正文称“{quote}”（{row}{prose}件），而表格“{row}”{column}为{table}件，相差{diff}件。"))
