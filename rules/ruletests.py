"""Rule tests written as data, run by ``nianbao rules test`` and by pytest.

A test file (``*.yaml`` in the tests directory) is a list of cases:

    - name: ARI-01 fails in the column that does not balance
      rules: [ARI-01]                  # optional: evaluate only these rule ids
      context: {level: government, year: 2021, published_on: 2022-03-20}   # level/year may be unknown;
                                       # agency: 测试机关, rulemaking: true|false (default: from the name)
      report:                          # a minimal ParsedReport (JSON shape of report-fields.md)
        meta: {template: "2021"}
        sections: all                  # all | [overview, active] | {overview: {chars: 0}}
        fields: {apply.new.natural: 3}
        doubtful: {}
        text: "..."
      expect:
        - {rule: ARI-01, subject: natural, status: fail, message: 相差}  # message: a substring
      absent: [TXT-03]                 # rule ids that must produce no outcome
      score: 90                        # optional
      previous: {fields: {...}}        # optional: last year's report (history rules)

A case with ``report: none`` tests the missing-report rules: ``context.today`` is the day
the deadline checker runs (rules.missing_report_outcome).

Every rule of the ruleset must be expected by at least one case (as semgrep and promtool
insist); a rule without a test is reported as a failure. Must not write files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from documents.report import SECTION_KEYS, ParsedReport, Section
from rules.engine import evaluate
from rules.history import missing_report_outcome
from rules.loader import load_ruleset
from rules.model import STATUSES, Context, Evaluation
from rules.schema import plain
from rules.wording import say
from rules.yamlmarks import load_marked, line_of

log = logging.getLogger(__name__)
CASE_KEYS = ("name", "rules", "context", "report", "previous", "expect", "absent", "score", "grade")


@dataclass(frozen=True)
class RuleTestFailure:
    file: str
    line: int | None
    case: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.case}: {self.message}" if self.case else f"{where}: {self.message}"


def build_report(data: dict[str, Any]) -> ParsedReport:
    data = plain(data or {})
    sections = data.get("sections", {})
    if sections == "all":
        sections = list(SECTION_KEYS)
    if isinstance(sections, list):
        sections = {k: {} for k in sections}
    built = {}
    for key, sec in (sections or {}).items():
        sec = dict(sec or {})
        sec.setdefault("present", True)
        sec.setdefault("chars", 200 if sec["present"] else 0)
        sec.setdefault("heading", SECTION_KEYS.get(key) if sec["present"] else None)
        built[key] = Section(**sec)
    meta = dict(data.get("meta", {}))
    if "template" in meta:
        meta["template"] = str(meta["template"])
    return ParsedReport(meta=meta, sections=built, fields=dict(data.get("fields", {})),
                        where=dict(data.get("where", {})), doubtful=dict(data.get("doubtful", {})),
                        narrative=dict(data.get("narrative", {})), problems=list(data.get("problems", [])),
                        text=data.get("text", "") or "")


SECTION_FIELDS = ("present", "heading", "chars", "line")
LEVELS = ("government", "department", "unknown", None)


def _shape_problems(case: dict) -> list[tuple[str, str, dict]]:
    """What in a case cannot build a report or context, said with its key (code, key, words):
    checked before building, so that the admin reads which key is wrong, not a Python error."""
    out: list[tuple[str, str, dict]] = []
    for key in ("report", "previous", "context"):
        value = case.get(key)
        if value is not None and not isinstance(value, dict) and not (key == "report" and value == "none"):
            out.append(("case_not_mapping_at", key, {"key": key}))
    for key in ("report", "previous"):
        report = case.get(key)
        if not isinstance(report, dict):
            continue
        for part in ("meta", "fields", "where", "doubtful", "narrative"):
            if report.get(part) is not None and not isinstance(report[part], dict):
                out.append(("case_not_mapping_at", key, {"key": f"{key}.{part}"}))
        sections = report.get("sections")
        names = list(sections) if isinstance(sections, (list, dict)) else []
        if sections not in (None, "all") and not isinstance(sections, (list, dict)):
            out.append(("case_sections_invalid", key, {"key": f"{key}.sections"}))
        for name in names:
            if not isinstance(name, str) or name not in SECTION_KEYS:
                out.append(("case_section_unknown", key, {"name": str(name), "allowed": list(SECTION_KEYS)}))
            elif isinstance(sections, dict) and sections[name] is not None:
                sec = sections[name]
                bad = [k for k in sec] if isinstance(sec, dict) else None
                if bad is None:
                    out.append(("case_not_mapping_at", key, {"key": f"{key}.sections.{name}"}))
                for k in [k for k in (bad or []) if k not in SECTION_FIELDS]:
                    out.append(("case_unknown_key_at", key, {"key": f"{key}.sections.{name}", "name": str(k),
                                                             "allowed": list(SECTION_FIELDS)}))
    context = case.get("context")
    if isinstance(context, dict):
        for k in ("published_on", "today"):
            if context.get(k) is not None and _date_or_none(context[k]) is None:
                out.append(("case_date_invalid", "context", {"key": f"context.{k}", "value": str(context[k]),
                                                                  "example": "2026-03-20"}))
        year = context.get("year")
        if year not in (None, "unknown") and not (isinstance(year, int) or str(year).isdigit()):
            out.append(("case_year_invalid", "context", {"value": str(year), "unknown": "unknown"}))
        if context.get("level", "government") not in LEVELS:
            out.append(("case_level_invalid", "context", {"value": str(context["level"]),
                                                          "allowed": [v for v in LEVELS if v]}))
    return out


def _date_or_none(value) -> date | None:
    try:
        return _date(value)
    except (TypeError, ValueError):
        return None


def _date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def build_context(data: dict[str, Any], report: ParsedReport, previous: ParsedReport | None = None) -> Context:
    """``level`` and ``year`` may be ``unknown`` (or null): the rules that need them do not run."""
    data = dict(data or {})
    level = data.get("level", "government")
    year = data.get("year", report.meta.get("year", 2021))
    return Context(agency_name=str(data.get("agency", report.meta.get("agency", "测试机关"))),
                   agency_level=None if level in (None, "unknown") else level,
                   year=None if year in (None, "unknown") else int(year),
                   published_on=_date(data.get("published_on")), deadline_override=data.get("deadline_override"),
                   previous=previous, rulemaking=data.get("rulemaking"))


# The words of a finding's status, as notifications/labels.py says them (rules may not import it).
STATUS_CN = {"pass": "符合", "fail": "不符合", "not_evaluated": "未能评估"}


def _said(status: str) -> str:
    return STATUS_CN.get(status, status)


def _where(subject: str) -> str:
    return f"（{subject}）" if subject else "（全文）"


def _check_case(case: dict, ruleset, file: str, line: int | None) -> tuple[list[RuleTestFailure], set[str]]:
    name = str(case.get("name", f"第{line}行的用例"))
    fail = lambda msg, ln=line: RuleTestFailure(file, ln, name, msg)  # noqa: E731
    failures = [fail(say("case_unknown_key", near=(k, CASE_KEYS), key=k, allowed=CASE_KEYS), line_of(case, k))
                for k in case if k not in CASE_KEYS]
    known = set(ruleset.ids)
    only = set(case["rules"]) if isinstance(case.get("rules"), list) else None
    expected_ids: set[str] = set()
    for rid in sorted((only or set()) - known):
        failures.append(fail(say("case_unknown_rule", id=rid), line_of(case, "rules")))
    no_report = case.get("report") == "none"
    shape = _shape_problems(case)
    if shape:
        return failures + [fail(say(code, **kw), line_of(case, key)) for code, key, kw in shape], expected_ids
    try:
        report = build_report({} if no_report else case.get("report"))
        previous = build_report(case["previous"]) if case.get("previous") else None
        ctx = build_context(case.get("context"), report, previous)
        today = _date((case.get("context") or {}).get("today"))
    except (TypeError, ValueError) as exc:
        return failures + [fail(say("case_unbuildable", reason=exc))], expected_ids
    if no_report:
        if today is None:
            return failures + [fail(say("case_needs_today"))], expected_ids
        missing = missing_report_outcome(ruleset, ctx, today)
        result = Evaluation(outcomes=[missing] if missing else [], score=100, grade="", lost=[])
    else:
        result = evaluate(ruleset, report, ctx, only=only)
    by_key = {o.key: o for o in result.outcomes}
    expect = case.get("expect") or []
    if not expect and not case.get("absent"):
        failures.append(fail(say("case_needs_expect")))
    for i, item in enumerate(expect):
        ln = line_of(expect, i, line)
        if not isinstance(item, dict) or "rule" not in item or item.get("status") not in STATUSES:
            failures.append(fail(say("case_expectation_invalid", statuses=STATUSES), ln))
            continue
        rid, subject = item["rule"], str(item.get("subject", ""))
        if rid not in known:
            failures.append(fail(say("case_unknown_rule", id=rid), ln))
            continue
        expected_ids.add(rid)
        got = by_key.get((rid, subject))
        if got is None:
            have = sorted(f"{_where(o.subject)}{_said(o.status)}" for o in result.outcomes if o.rule_id == rid)
            failures.append(fail(f"应有 {rid}{_where(subject)}的结果“{_said(item['status'])}”，实际没有这项结果"
                                 f"（{rid} 的结果：{'、'.join(have) or '无'}）", ln))
        elif got.status != item["status"]:
            failures.append(fail(f"应为 {rid}{_where(subject)}“{_said(item['status'])}”，实际为“{_said(got.status)}”："
                                 f"{got.message}", ln))
        elif "message" in item and str(item["message"]) not in got.message:
            failures.append(fail(f"{rid}{_where(subject)}的说明中没有“{item['message']}”：{got.message}", ln))
    for rid in case.get("absent") or []:
        expected_ids.add(rid)
        extra = [o for o in result.outcomes if o.rule_id == rid]
        if extra:
            failures.append(fail(f"应没有 {rid} 的结果，实际有{_where(extra[0].subject)}“{_said(extra[0].status)}”",
                                 line_of(case, "absent")))
    if "score" in case and case["score"] != result.score:
        lost = "；".join(f"{r}{_where(s)}扣{p:g}分" for r, s, p in result.lost) or "无"
        failures.append(fail(f"应得 {case['score']} 分，实际 {result.score} 分（扣分：{lost}）", line_of(case, "score")))
    if "grade" in case and case["grade"] != result.grade:
        failures.append(fail(f"应评为“{case['grade']}”，实际为“{result.grade}”", line_of(case, "grade")))
    return failures, expected_ids


def run_rule_tests(ruleset_dir: str | Path, tests_dir: str | Path) -> list[RuleTestFailure]:
    """Run every case; returns the failures (empty when all pass). Raises RuleFileError
    when the ruleset itself does not load."""
    ruleset = load_ruleset(ruleset_dir)
    tests = Path(tests_dir)
    files = sorted(p for p in tests.glob("*.y*ml")) if tests.is_dir() else [tests]
    failures: list[RuleTestFailure] = []
    covered: set[str] = set()
    if not files:
        failures.append(RuleTestFailure(str(tests), None, "", "没有找到测试用例文件（*.yaml）"))
    for file in files:
        label = str(file)
        data, problems = load_marked(file, label)
        failures.extend(RuleTestFailure(p.file, p.line, "", f"{p.message} — {p.hint}") for p in problems)
        if data is None:
            continue
        if not isinstance(data, list):
            failures.append(RuleTestFailure(label, getattr(data, "line", 1), "", say("cases_not_a_list")))
            continue
        for i, case in enumerate(data):
            if not isinstance(case, dict):
                failures.append(RuleTestFailure(label, data.line_of(i), "", say("case_not_mapping")))
                continue
            try:
                found, ids = _check_case(case, ruleset, label, data.line_of(i))
            except Exception:  # noqa: BLE001 - a case that breaks the runner is that case's failure
                log.exception("rule test case %s:%s could not run", label, data.line_of(i))
                found, ids = [RuleTestFailure(label, data.line_of(i), str(case.get("name", "")),
                                              say("case_crashed"))], set()
            failures.extend(found)
            covered |= ids
    for rid in ruleset.ids:
        if rid not in covered:
            rule = ruleset.get(rid)[0]
            failures.append(RuleTestFailure(rule.file, rule.line, "", f"规则 {rid} 没有测试用例"))
    return failures
