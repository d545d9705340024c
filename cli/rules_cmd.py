"""`nianbao rules check|test|diff`, `nianbao score` and `nianbao rescore`: the admins' tools for rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from cli.common import date_option, read_report_file, settings_or_exit

rules_app = typer.Typer(help="Check and test rule files.", no_args_is_help=True)
console = Console()


def _rules_dir() -> Path:
    return settings_or_exit().rules_dir


@rules_app.command("check")
def rules_check(path: Optional[Path] = typer.Argument(None, help="Rules directory or file (default: NIANBAO_RULES_DIR).")):
    """Validate rule files: every problem with file:line and a fix."""
    from rules import RuleFileError, load_ruleset

    path = path or _rules_dir()
    try:
        ruleset = load_ruleset(path)
    except RuleFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    from notifications.labels import label

    categories = Counter(ruleset.get(rid)[0].category for rid in ruleset.ids)
    console.print(f"[green]规则文件无误[/green]：{path} 共 {len(ruleset.ids)} 条规则（含变体 {len(ruleset.rules)} 条），"
                  f"规则版本 {ruleset.version}；按类别：" + "，".join(f"{label('category', c)} {n} 条"
                                                            for c, n in sorted(categories.items())) + "。")


@rules_app.command("test")
def rules_test(path: Optional[Path] = typer.Argument(None, help="Rules directory (default: NIANBAO_RULES_DIR)."),
               tests: Optional[Path] = typer.Option(None, help="Test cases directory (default: <rules>/tests).")):
    """Run the rules' test cases (data files of reports and expected outcomes)."""
    from rules import RuleFileError
    from rules.ruletests import run_rule_tests

    path = path or _rules_dir()
    try:
        failures = run_rule_tests(path, tests or Path(path) / "tests")
    except RuleFileError as exc:  # the rules themselves do not load: what `rules check` says
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    for failure in failures:
        typer.echo(f"未通过 {failure}", err=True)
    if failures:
        typer.echo(f"共 {len(failures)} 处未通过（文件:行号 见上）。", err=True)
        raise typer.Exit(1)
    console.print("[green]全部规则测试用例通过。[/green]")



@rules_app.command("diff")
def rules_diff(against: Path = typer.Option(..., "--against", help="The proposed rules directory."),
               current: Optional[Path] = typer.Option(None, help="The current rules (default: NIANBAO_RULES_DIR)."),
               latest_only: bool = typer.Option(False, "--latest-only", help="Only each report's current version."),
               year: Optional[int] = typer.Option(None, "--year", min=2000, max=2100, help="Only reports on this year."),
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Score every stored report with the current and the proposed rules; show what would change."""
    from rich.progress import Progress as Bar

    from models.db import migrate
    from rules import RuleFileError, load_ruleset
    from worker.rulediff import diff_rulesets

    settings = settings_or_exit()
    try:
        old, new = load_ruleset(current or settings.rules_dir), load_ruleset(against)
    except RuleFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    migrate(settings.db_url)
    with Bar(console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("为已存的报告评分", total=None)
        diff = diff_rulesets(settings.db_url, old, new, latest_only=latest_only, year=year,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        print(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    from notifications.labels import label
    from rules.fields import subject_label

    console.print(f"规则版本 {diff.current_version} → {diff.proposed_version}：评分了 {diff.snapshots} 份已存的报告，"
                  f"{len(diff.changes)} 份会变化")

    def about(f) -> str:
        return f"（{subject_label(f.subject)}）" if f.subject else ""

    for change in diff.changes:
        delta = change.score_after - change.score_before
        colour = "green" if delta > 0 else "red" if delta < 0 else "white"
        console.print(f"[bold]{change.agency_name}[/] {change.year or '年度不详'}{'年' if change.year else ''}"
                      f"（版本 {change.snapshot_id}{'' if change.latest else '，旧版本'}）："
                      f"[{colour}]{change.score_before} → {change.score_after} 分[/]（{change.grade_before} → {change.grade_after}）")
        for f in change.appeared:
            console.print(f"  [red]+ {f.rule_id}{about(f)}[/] {label('finding_status', f.status)}：{f.message}", soft_wrap=True)
        for f in change.disappeared:
            console.print(f"  [green]- {f.rule_id}{about(f)}[/] {label('finding_status', f.status)}：{f.message}",
                          soft_wrap=True)
        for f in change.reweighed:
            console.print(f"  [yellow]~ {f.rule_id}{about(f)}[/] {label('severity', f.severity_before)} → "
                          f"{label('severity', f.severity_after)}，扣 {f.points_before:g} → {f.points_after:g} 分", soft_wrap=True)
    for rule_id, (up, down) in diff.by_rule().items():
        console.print(f"{rule_id}：新增 {up} 项，消除 {down} 项")
    for error in diff.errors:
        console.print(f"[yellow]{error}[/yellow]")


def _outcome_json(o) -> dict:
    return {"rule_id": o.rule_id, "subject": o.subject, "status": o.status, "severity": o.severity,
            "title": o.title, "message": o.message, "evidence": o.evidence, "basis": o.basis}


LEVEL_CN = {"government": "人民政府", "department": "部门"}
YEAR_SOURCE_CN = {"title": "标题", "period": "统计期限", "text": "正文开头"}


def score_facts(report, file: Path, level: str | None, rulemaking: bool | None, year: int | None):
    """(Context, lines saying what is known of the agency and the report, and from where)."""
    from rules import Context
    from rules.identity import infer_rulemaking

    meta = report.meta
    name = meta.get("agency") or ""
    lines = []
    if level:
        lines.append(f"单位级别：{LEVEL_CN[level]}（--level 指定）")
    elif meta.get("level_hint"):
        level = meta["level_hint"]
        lines.append(f"单位级别：{LEVEL_CN[level]}（由单位名称中的“{meta.get('level_hint_word')}”推断；可用 --level 更改）")
    else:
        lines.append("单位级别：未能确定（单位名称未表明；可用 --level 指定），取决于级别的规则不评估")
    if rulemaking is not None:
        lines.append(f"规章制定权：{'有' if rulemaking else '无'}（--rulemaking/--no-rulemaking 指定）")
    else:
        power = infer_rulemaking(name, level)
        lines.append("规章制定权：" + ("未能确定（可用 --rulemaking 或 --no-rulemaking 指定），PLA-01 不评估" if power is None
                                      else f"{'有' if power else '无'}（由单位名称和级别推断）"))
    if year:
        lines.append(f"报告年度：{year}（--year 指定）")
    elif meta.get("year"):
        year = meta["year"]
        lines.append(f"报告年度：{year}（取自{YEAR_SOURCE_CN.get(meta.get('year_source'), '文件')}）")
    else:
        lines.append("报告年度：未能确定（可用 --year 指定），取决于年度的规则不评估")
    template = meta.get("template")
    lines.append("报告格式：" + {"2021": "2021年格式", "2019": "2019年试行格式"}.get(str(template), "未能识别")
                 + {"tables": "（表格显示）", "year": "（仅由年度推断）"}.get(meta.get("template_source"), ""))
    ctx = Context(agency_name=name or file.stem, agency_level=level, year=year, rulemaking=rulemaking)
    return ctx, lines


def score(file: Path,
          level: Optional[str] = typer.Option(None, help="Agency level: government | department. Default: inferred "
                                                          "from the agency the document names (人民政府, 街道… / 局, 委, 办…)."),
          rulemaking: Optional[bool] = typer.Option(None, "--rulemaking/--no-rulemaking",
                                                    help="Whether the agency may make 规章 (省级 and 设区的市 governments). "
                                                         "Default: inferred from its name and level, else unknown."),
          year: Optional[int] = typer.Option(None, min=2000, max=2100, help="Report year. Default: read from the document."),
          published: Optional[str] = typer.Option(None, help="Publication date YYYY-MM-DD (deadline rule)."),
          previous: Optional[Path] = typer.Option(None, help="The same agency's report on the year before."),
          rules: Optional[Path] = typer.Option(None, help="Rules directory (default: NIANBAO_RULES_DIR)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Parse one report file and evaluate the rules on it: score, grade, coverage, findings with evidence.

    What the rules depend on (the agency's level, its power to make 规章, the year) is taken from
    the document and printed; a fact it does not establish leaves the rules that need it not evaluated."""
    from dataclasses import replace

    from rules import RuleFileError, evaluate, load_ruleset

    if level not in (None, "government", "department"):
        typer.echo("--level 只能是 government（人民政府）或 department（政府部门）", err=True)
        raise typer.Exit(2)
    pub = date_option(published, "--published")
    report = read_report_file(file)
    last = read_report_file(previous) if previous else None
    try:
        ruleset = load_ruleset(rules or _rules_dir())
    except RuleFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    ctx, facts = score_facts(report, file, level, rulemaking, year)
    ctx = replace(ctx, published_on=pub, previous=last)
    result = evaluate(ruleset, report, ctx)
    outcomes = [o for o in result.outcomes if o.status != "pass"]
    points = {}
    for rule_id, subject, lost in result.lost:
        points[(rule_id, subject)] = points.get((rule_id, subject), 0) + lost
    coverage = None if result.coverage is None else int(result.coverage * 100 + 1e-9)
    if as_json:
        print(json.dumps({"file": str(file), "agency": ctx.agency_name, "level": ctx.agency_level, "year": ctx.year,
                          "rulemaking": rulemaking, "facts": facts, "ruleset": ruleset.version, "score": result.score,
                          "grade": result.grade, "coverage": result.coverage,
                          "findings": [{**_outcome_json(o), "points": points.get(o.key, 0)} for o in outcomes]},
                         ensure_ascii=False, indent=2, default=str))
        return
    from rich.markup import escape

    from notifications.labels import label
    from rules.explain import explain, group_not_evaluated
    from rules.fields import subject_label

    for line in facts:
        console.print(f"[dim]{escape(line)}[/dim]", soft_wrap=True)
    judged = f"，可判定{coverage}%" if coverage is not None else ""
    console.print(f"{escape(ctx.agency_name)} {ctx.year or '年度不详'}{'年' if ctx.year else ''}：评分 {result.score}"
                  f"（{result.grade}）{judged}，规则版本 {ruleset.version[:12]}")
    for o in outcomes:
        if o.status != "fail":
            continue
        lost = points.get(o.key, 0)
        about = subject_label(o.subject)
        console.print(f"[red]【{label('severity', o.severity)}】[/]{o.rule_id}"
                      f"{f'（{about}）' if about else ''}{f' 扣{lost:g}分' if lost else ''} {escape(o.title)}：{escape(o.message)}",
                      soft_wrap=True)
        for line in explain(o.to_dict()).lines:
            console.print(f"    {escape(line)}", soft_wrap=True)
    # What could not be judged, grouped by why with the reason said once (as on the report page).
    unsure = [o.to_dict() for o in outcomes if o.status == "not_evaluated"]
    if unsure:
        console.print(f"[yellow]未能评估的检查（{len(unsure)} 项，不扣分，也不会通知该单位）：[/]")
        for group in group_not_evaluated(unsure):
            console.print(f"  {escape(group['reason'])}（{group['count']} 项）"
                          + (f"：{escape(group['blanks'])}" if group["blanks"] else ""), soft_wrap=True)
            for rule in group["rules"]:
                console.print(f"    {rule['rule_id']} {escape(rule['title'])}"
                              + (f"（{escape(rule['subjects_text'])}）" if rule["subjects_text"] else ""), soft_wrap=True)


def rescore(all_versions: bool = typer.Option(False, "--all-versions", help="Every stored version, not only the current."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Re-evaluate stored reports with the current rules: in-process (embedded engine), or
    as `nianbao.evaluate` tasks when NIANBAO_BROKER_URL is set."""
    from dataclasses import asdict

    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

    from models.db import migrate
    from worker.errors import RulesUnavailable
    from worker.rescore import enqueue_rescore, rescore_embedded, snapshots_to_rescore
    from worker.runtime import get_runtime

    settings = settings_or_exit()
    migrate(settings.db_url)
    rt = get_runtime()
    try:
        version = rt.rules.current().version
    except RulesUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    if rt.rules.error:
        typer.echo(f"规则文件有错误，请先修正（`nianbao rules check`）：\n{rt.rules.error}", err=True)
        raise typer.Exit(1)
    ids = snapshots_to_rescore(settings.db_url, all_versions=all_versions)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Bar(*columns, console=Console(stderr=True), disable=as_json) as bar:
        said = "加入任务队列" if not settings.embedded else f"按规则版本 {version} 重新评分"
        task = bar.add_task(said, total=len(ids))
        tick = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        result = rescore_embedded(rt, ids, tick) if settings.embedded else enqueue_rescore(ids, tick)
    result.ruleset_version = version
    if as_json:
        print(json.dumps(asdict(result), ensure_ascii=False, indent=2))
        return
    if settings.embedded:
        console.print(f"已按规则版本 {version} 重新评分 {result.snapshots} 份报告"
                      + (f"，发现错误 {len(result.errors)} 处（见下）。" if result.errors else "。"))
    else:
        console.print(f"已将 {result.enqueued} 份报告加入评分队列，由工作进程按规则版本 {version} 评分。")
    for error in result.errors:
        console.print(f"[yellow]{error}[/yellow]")
