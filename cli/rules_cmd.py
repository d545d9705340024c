"""`nianbao rules …`: the admins' tools for rule files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import json
from datetime import date

import typer
from rich.console import Console

from cli.common import read_report_file, settings_or_exit

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
    console.print(f"[green]ok[/green]: {len(ruleset.rules)} rules in {path}, version {ruleset.version}")


@rules_app.command("test")
def rules_test(path: Optional[Path] = typer.Argument(None, help="Rules directory (default: NIANBAO_RULES_DIR)."),
               tests: Optional[Path] = typer.Option(None, help="Test cases directory (default: <rules>/tests).")):
    """Run the rules' test cases (data files of reports and expected outcomes)."""
    from rules.ruletests import run_rule_tests

    path = path or _rules_dir()
    failures = run_rule_tests(path, tests or Path(path) / "tests")
    for failure in failures:
        typer.echo(f"FAIL {failure}", err=True)
    if failures:
        raise typer.Exit(1)
    console.print("[green]all rule tests passed[/green]")



def score(file: Path,
          level: str = typer.Option("government", help="Agency level: government | department."),
          published: Optional[str] = typer.Option(None, help="Publication date YYYY-MM-DD (deadline rule)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Parse one report file and evaluate the rules on it."""
    from rules import Context, RuleFileError, evaluate, load_ruleset

    if level not in ("government", "department"):
        typer.echo("--level must be government or department", err=True)
        raise typer.Exit(2)
    report = read_report_file(file)
    try:
        ruleset = load_ruleset(_rules_dir())
    except RuleFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    pub = date.fromisoformat(published) if published else None
    ctx = Context(agency_name=report.meta.get("agency") or file.stem, agency_level=level,
                  year=report.meta.get("year") or 0, published_on=pub)
    result = evaluate(ruleset, report, ctx)
    outcomes = [o for o in result.outcomes if o.status != "pass"]
    if as_json:
        print(json.dumps({"ruleset": ruleset.version, "score": result.score, "grade": result.grade,
                          "outcomes": [{"rule_id": o.rule_id, "subject": o.subject, "status": o.status,
                                        "severity": o.severity, "title": o.title, "message": o.message,
                                        "evidence": o.evidence} for o in outcomes]},
                         ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"评分 {result.score}（{result.grade}），规则版本 {ruleset.version}")
    for o in outcomes:
        colour = "red" if o.status == "fail" else "yellow"
        console.print(f"[{colour}]{o.status}[/] {o.rule_id} {o.subject} {o.title}：{o.message}")
