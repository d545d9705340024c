"""Evaluations per second of the whole default rule library, next to the same checks
written as plain Python, in the same run.

    .venv/bin/python bench/rules.py [--rounds 300]

Reports: the real fixtures in ../shared/fixtures and the demo reports in examples/portals,
parsed once before timing. Each timed evaluation starts cold (the prose caches are
cleared), as a worker meets a report once. The baseline is a hand-written checker doing
the same checks (same identities, same keyword groups and patterns, same prose reading,
same messages for failures) with no rule files: what the engine's generality costs.
Prints both rates, the ratio, and ms per report.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import unicodedata
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from documents.report import APPLICANT_COLUMNS, SECTION_KEYS  # noqa: E402
from rules.fields import APPLY_ROW_LABELS, RESULT_LEAF_ROWS_2021, label_of  # noqa: E402

COLS = APPLICANT_COLUMNS
ROWS = tuple(APPLY_ROW_LABELS)
GROUPS = ("review", "litigation.direct", "litigation.after_review")
N = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)"
CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn(text):
    if text.replace(".", "", 1).isdigit():
        return float(text) if "." in text else int(text)
    total = cur = 0
    for ch in text:
        if ch in CN:
            cur = CN[ch]
        elif ch in "十百千":
            total += (cur or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            cur = 0
        else:
            return None
    return total + cur


NARRATIVE = [  # (rule, parser key, patterns, table keys)
    ("TXT-01a", "requests_received", [rf"(?:收到|受理|接收|新收)[^。；，,]{{0,12}}?申请[^。；，,]{{0,6}}?{N}(?:件|个|份|条)"], ["apply.new.total"]),
    ("TXT-01b", "carried_over", [rf"(?:上年度?|上一年度?|2\d{{3}}年度?)结转(?!下)[^。；，,]{{0,10}}?{N}(?:件|个|份|条)"], ["apply.carried.total"]),
    ("TXT-01c", "processed", [rf"(?:已|共|全部)?办结[^。；，,]{{0,8}}?{N}(?:件|个|份|条)",
                              rf"(?:答复|回复)(?:办结)?(?:申请)?[^。；，,按及]{{0,4}}?共{N}(?:件|个|份|条)"], ["apply.results_total.total"]),
    ("TXT-01d", "carried_forward", [rf"结转(?:至|到)?下(?:一)?年度?(?:继续)?(?:办理)?[^。；，,]{{0,6}}?{N}(?:件|个|份|条)",
                                    rf"{N}(?:件|个|份|条)[^。；，,]{{0,8}}?结转(?:至|到)?下(?:一)?年"], ["apply.carry_forward.total"]),
    ("TXT-01e", "reviews", [rf"行政复议[^。；，,]{{0,8}}?{N}(?:件|起|宗|个|次)", rf"{N}(?:件|起|宗|个|次)[^。；，,]{{0,8}}?行政复议"], ["review.total"]),
    ("TXT-01f", "lawsuits", [rf"行政诉讼[^。；，,]{{0,8}}?{N}(?:件|起|宗|个|次)", rf"{N}(?:件|起|宗|个|次)[^。；，,]{{0,8}}?行政诉讼"],
     ["litigation.direct.total", "litigation.after_review.total"]),
    ("TXT-01g", "normative_issued", [rf"(?:制发|出台|印发|制定)[^。；，,]{{0,6}}?(?:行政)?规范性文件[^。；，,]{{0,4}}?{N}(?:件|个|份)"],
     ["active.normative.issued"]),
]
NARRATIVE = [(r, k, [re.compile(p) for p in ps], t) for r, k, ps, t in NARRATIVE]
REPLY = {"on_time": re.compile(rf"(?:按时|按期|如期|及时|在法定期限内|在规定期限内)(?:回复|答复|办结|处理)[^。；，,]{{0,4}}?{N}(?:件|个|份|条)"),
         "extended": re.compile(rf"延期(?:回复|答复|办理|办结)?[^。；，,]{{0,6}}?{N}(?:件|个|份|条)"),
         "late": re.compile(rf"(?:逾期|超期|超过法定期限)(?:回复|答复|办理|办结)?[^。；，,]{{0,6}}?{N}(?:件|个|份|条)")}
ALL_ON_TIME = re.compile("(?:均|全部|都)(?:已)?(?:在|于)?(?:法定|规定)(?:期限|时限)内|(?:均|全部|都)(?:已)?(?:按时|按期|及时)(?:予以)?(?:答复|回复|办结)")
SCOPE = ("代表", "本级", "政府办", "办公室", "机关本级", "其中", "部分单位", "各部门", "各单位", "各乡镇", "街道", "直属", "本部")
TOPICS = {
    "TXT-02": ("overview", {"主动公开": ["主动公开", "主动发布"], "依申请公开": ["依申请", "申请公开", "公开申请"],
                            "政府信息管理": ["政府信息管理", "信息管理", "保密审查", "发布审核", "审核发布", "动态调整", "公开目录"],
                            "平台建设": ["平台建设", "政府网站", "门户网站", "平台", "新媒体"],
                            "监督保障": ["监督保障", "监督", "考核", "培训", "保障"]}),
    "TXT-03": (None, {"工作考核": ["工作考核", "考核"], "社会评议": ["社会评议", "评议"], "责任追究": ["责任追究", "追究责任"]}),
    "TXT-04": ("other", {"信息处理费": ["信息处理费", "处理费", "收费通知", "收费", "收取费用"]}),
    "TXT-05": ("other", {"工作要点": ["工作要点"], "建议提案": ["建议", "提案"], "创新": ["创新"]}),
    "TXT-06": ("problems", {"问题": ["问题", "不足", "差距", "短板", "薄弱", "欠缺", "有待"],
                            "措施": ["改进", "措施", "整改", "下一步", "将", "加强", "推进", "完善"]}),
    "TXT-07": ("problems", {"整改": ["上年度", "上一年度", "上年", "去年", "整改情况"]}),
}
PATTERNS = {
    "TXT-08": [re.compile(p) for p in ("编写说明", "填报说明", r"[XxＸｘ×]{2,}(?:单位|部门|局|委|办|区|县|市|镇|乡|街道|年|月|日|件)",
                                       r"[（(【\[]\s*(?:此处|请|在此)(?:填写|填报|补充|输入)[^）)】\]]{0,30}[）)】\]]", "可先适当综述", "主要考虑极少数特殊情况")],
    "TXT-11": [re.compile(p) for p in ("的(?<!目的)的(?!确)", "以(?<![可所予加难得足用借]以)以", "在(?<![存实现正]在)在", "是(?<![凡但就总于]是)是(?!非)",
                                       "于(?<![由等对鉴关]于)于", "及(?<![涉普危波]及)及(?!时)", "与(?<![参给]与)与", "将(?<!即将)将", "被被",
                                       r"(进行|开展|加强|推进|落实|做好|公开|申请)\1")],
    "TXT-10": [re.compile(p) for p in (r"新修订的《(?:中华人民共和国)?政府信息公开条例》", r"回应(?:社会)?关切情况", "收费及减免情况")],
    "TXT-12": [re.compile(r"[A-Za-z](?:(?<=[\u4e00-\u9fff][A-Za-z])|(?<=[\u4e00-\u9fff]\s[A-Za-z]))[A-Za-z]{3,}(?=\s*[\u4e00-\u9fff。，])")],
}
PERIOD = re.compile(r"(\d{4})年1月1日(?:起)?(?:至|到|—|-|~)(\d{4})年12月31日")
MALFORMED = re.compile(r"20\d\d(?<![\d〔\[（(号第]20\d\d)(?:0?[1-9]|1[0-2])月|\d{5,}年(?!度?\d)|\d{3}(?<!\d\d{3})年(?=\d{1,2}月)")
THIS_YEAR = re.compile(r"(\d{4})(?<![\d〔\[（(第]\d{4})年(?:度)?[，,]?(?:我|本|全)(?:区|县|市|局|委|办|镇|乡|街道|机关|单位|厅|部)"
                       r"[^。；]{0,30}?(?:收到|受理|新收|主动公开|发布|办结|制发)")
TOP = re.compile(r"^\s*([一二三四五六七八九十]{1,2})\s*[、.．]")


def sentences(text):
    out, buf = [], []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or "\t" in s or re.search(r"(?:\d+\s+){3,}\d+", s):
            if buf:
                out += [(p, re.sub(r"\s+", "", unicodedata.normalize("NFKC", p)), i) for p in re.split(r"(?<=[。！？；!?;])", " ".join(buf)) if p.strip()]
                buf = []
            continue
        buf.append(s)
    if buf:
        out += [(p, re.sub(r"\s+", "", unicodedata.normalize("NFKC", p)), 0) for p in re.split(r"(?<=[。！？；!?;])", " ".join(buf)) if p.strip()]
    return out


def section(report, key):
    lines = report.text.splitlines()
    sec = report.sections.get(key)
    if not sec or not sec.present or not sec.line:
        return report.text
    later = [s.line for s in report.sections.values() if s.present and s.line and s.line > sec.line]
    return "\n".join(lines[sec.line:(min(later) - 1 if later else len(lines))])


def baseline(report, ctx):
    """The default library's checks, hand-written. Returns (rule, subject, status, message)."""
    f, doubt, out = report.fields, report.doubtful, []

    def ident(rule, subject, left_keys, right_keys, what):
        keys = left_keys + right_keys
        if any(k in doubt for k in keys):
            out.append((rule, subject, "not_evaluated", "存疑"))
        elif any(k not in f for k in keys):
            out.append((rule, subject, "not_evaluated", "未填写" + "、".join(label_of(k) for k in keys if k not in f)[:60]))
        else:
            left, right = sum(f[k] for k in left_keys), sum(f[k] for k in right_keys)
            ok = abs(left - right) <= 1e-9 * max(1, abs(left), abs(right))
            out.append((rule, subject, "pass" if ok else "fail", "" if ok else f"{what}：{left}与{right}相差{left - right}"))

    template = str(report.meta.get("template"))
    for c in COLS:
        ident("ARI-01", c, [f"apply.new.{c}", f"apply.carried.{c}"], [f"apply.results_total.{c}", f"apply.carry_forward.{c}"], c)
        if template == "2021":
            ident("ARI-02", c, [f"apply.results_total.{c}"], [f"apply.{r}.{c}" for r in RESULT_LEAF_ROWS_2021], c)
    if template == "2021":
        for r in ROWS:
            ident("ARI-03", r, [f"apply.{r}.total"], [f"apply.{r}.{c}" for c in COLS[:-1]], r)
    for g in GROUPS:
        ident("ARI-04", g, [f"{g}.total"], [f"{g}.{o}" for o in ("upheld", "corrected", "other", "pending")], g)
        if f.get(f"{g}.corrected"):
            out.append(("TIM-06", g, "fail", f"{g}结果纠正{f[g + '.corrected']}件"))
    for k, v in f.items():  # ARI-05
        if k != "active.fees.amount" and (v < 0 or v != int(v)):
            out.append(("ARI-05", k, "fail", f"{label_of(k)}填写为{v}"))
    for i, (k, heading) in enumerate(SECTION_KEYS.items()):  # STR-01
        s = report.sections.get(k)
        out.append(("STR-01", k, "pass" if s and s.present and s.chars else "fail", heading))
    need = [f"apply.{r}.{c}" for r in ROWS for c in COLS]  # STR-04
    missing_rows = [r for r in ROWS if not any(f"apply.{r}.{c}" in f for c in COLS)]
    out.append(("STR-04", "", "fail" if missing_rows and len(missing_rows) < len(ROWS) else "pass", "、".join(missing_rows)))
    out.append(("STR-05", "", "pass" if all(f"{g}.{o}" in f for g in GROUPS for o in ("upheld", "total")) else "fail", ""))
    for pr in report.problems:  # FMT-01, FMT-02, UNIT-02
        out.append(({"column_count": "FMT-01", "blank_cells": "FMT-02", "unit": "UNIT-02"}.get(pr.get("kind"), "FMT-00"), "", "fail",
                    str(pr.get("detail"))))
    sents = sentences(report.text or "")
    for rule, key, pats, table in NARRATIVE:  # TXT-01a..g
        entry = report.narrative.get(key)
        value = quote = None
        if entry:
            value, quote = entry["value"], entry["quote"]
        else:
            for q, c, _ in sents:
                m = next((m for p in pats for m in [p.search(c)] if m), None)
                if m and cn(m.group(1)) is not None:
                    value, quote = cn(m.group(1)), q
                    break
        if value is None or any(k not in f for k in table):
            continue
        t = sum(f[k] for k in table)
        if value != t:
            marker = next((w for w in SCOPE if w in quote), None)
            out.append((rule, "", "fail", f"正文称“{quote}”{value}，表格为{t}" + (f"，“{marker}”口径" if marker else "")))
        else:
            out.append((rule, "", "pass", ""))
    facts = {}
    for q, c, _ in sents:  # TIM-03, TIM-04
        for name, p in REPLY.items():
            m = p.search(c)
            if m and name not in facts:
                facts[name] = cn(m.group(1))
    received = report.narrative.get("requests_received", {}).get("value")
    on_time = report.narrative.get("answered_on_time", {}).get("value", facts.get("on_time"))
    extended = report.narrative.get("extended", {}).get("value", facts.get("extended"))
    if received is not None and on_time is not None and on_time + (extended or 0) < received:
        out.append(("TIM-03", "", "fail", f"收到{received}件按时{on_time}件延期{extended}件"))
    elif (received is not None and on_time is not None) or any(ALL_ON_TIME.search(c) for _, c, _ in sents):
        out.append(("TIM-03", "", "pass", ""))
    if extended:
        out.append(("TIM-04", "", "fail", f"延期{extended}件"))
    for rule, (key, groups) in TOPICS.items():  # TXT-02..07
        if rule == "TXT-03" and ctx.agency_level != "government":
            continue
        text = "".join(section(report, key).split()) if key else "".join(report.text.split())
        missing = [g for g, words in groups.items() if not any(w in text for w in words)]
        out.append((rule, "", "fail" if missing else "pass", "、".join(missing)))
    for rule, pats in PATTERNS.items():  # TXT-08, 10, 11, 12
        found = [m.group(0) for p in pats for m in p.finditer(report.text)]
        out.append((rule, "", "fail" if found else "pass", "；".join(found[:3])))
    year = ctx.year  # TXT-09
    for q, c, _ in sents:
        for m in PERIOD.finditer(c):
            if int(m.group(1)) != year or int(m.group(2)) != year:
                out.append(("TXT-09", "period", "fail", q))
        if MALFORMED.search(c):
            out.append(("TXT-09", "malformed", "fail", q))
        m = THIS_YEAR.search(c)
        if m and int(m.group(1)) not in (year, year + 1):
            out.append(("TXT-09", "prose", "fail", q))
    lines = report.text.splitlines()  # STR-06
    placed = sorted((s.line, k) for k, s in report.sections.items() if s.present and s.line)
    for (a, k), (b, _) in zip(placed, placed[1:] + [(len(lines) + 1, "")]):
        inner = [ln for ln in lines[a:b - 1] if TOP.match(ln) and "\t" not in ln]
        if inner:
            out.append(("STR-06", k, "fail", inner[-1][:20]))
    if f.get("active.rules.issued") and re.search(r"(区|县|镇|乡|街道)(人民政府)?$", ctx.agency_name or ""):
        out.append(("PLA-01", "", "fail", ""))
    if f.get("active.fees.amount", 0) > 100000:
        out.append(("UNIT-01", "", "fail", ""))
    if f.get("apply.carry_forward.total"):
        out.append(("TIM-05", "", "fail", "结转"))
    pub = ctx.published_on  # TIM-01
    deadline = date(ctx.year + 1, 1, 31) if ctx.agency_level == "department" else date(ctx.year + 1, 3, 31)
    out.append(("TIM-01", "", "not_evaluated" if pub is None else "pass" if pub <= deadline else "fail", ""))
    return out


def load_reports():
    from documents.reader import read_document
    from rules import Context

    reports = []
    fixtures = REPO.parent / "shared" / "fixtures"
    files = [p for p in sorted(fixtures.glob("*")) if p.suffix in (".txt", ".pdf", ".html")] if fixtures.is_dir() else []
    files += sorted((REPO / "examples" / "portals").rglob("*.htm*"))
    for path in files:
        try:
            report = read_document(path.read_bytes(), name=path.name)
        except Exception:
            continue
        if not report.fields:
            continue  # listing pages and the like
        name = report.meta.get("agency") or path.stem
        level = "department" if not re.search(r"(人民政府|政府)$", name) else "government"
        reports.append((path.name, report, Context(name, level, report.meta.get("year") or 2021, date(2022, 3, 1))))
    return reports


def timed(fn, reports, rounds):
    from rules import prose

    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _, report, ctx in reports:
            prose.clear_caches()
            fn(report, ctx)
        samples.append((time.perf_counter() - start) / len(reports))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    from rules import LIBRARY, evaluate, load_ruleset

    ruleset = load_ruleset(LIBRARY)
    reports = load_reports()
    print(f"{len(reports)} parsed reports ({', '.join(n for n, _, _ in reports[:5])}{'…' if len(reports) > 5 else ''}); "
          f"{len(ruleset.ids)} rules ({len(ruleset.rules)} with variants), version {ruleset.version}")
    engine = lambda report, ctx: evaluate(ruleset, report, ctx)  # noqa: E731
    for fn in (engine, baseline):  # warm up
        timed(fn, reports, 5)
    # Interleave the two so machine noise hits both alike.
    e_samples, b_samples = [], []
    for _ in range(5):
        e_samples.append(timed(engine, reports, max(1, args.rounds // 5)))
        b_samples.append(timed(baseline, reports, max(1, args.rounds // 5)))
    e, b = statistics.median(e_samples), statistics.median(b_samples)
    outcomes = statistics.mean(len(evaluate(ruleset, r, c).outcomes) for _, r, c in reports)
    print(f"engine   {1 / e:9.0f} evaluations/s  {e * 1000:6.3f} ms/report  ({outcomes:.0f} outcomes each)")
    print(f"baseline {1 / b:9.0f} evaluations/s  {b * 1000:6.3f} ms/report  (plain Python, same checks)")
    print(f"ratio    {e / b:9.2f}×  (goal: within 5×, under 2 ms a report)")


if __name__ == "__main__":
    main()
