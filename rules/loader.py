"""``load_ruleset``: read a directory of rule files (or one file) into a validated RuleSet.

Every ``*.yaml`` / ``*.yml`` directly in the directory is a list of rules, except
``scoring.yaml`` (see rules/scoring.py); sub-directories (such as ``tests/``) are not read.
All problems in all files are collected and raised together as one RuleFileError.
Rule ids are unique, except that variants of one rule may share an id when their
``applies`` can never match the same report (e.g. ARI-02 for templates 2021 and 2019).
Must not evaluate rules.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rules.errors import Problem, RuleFileError, problem
from rules.model import Rule, RuleSet
from rules.params import Issues
from rules.schema import parse_rule
from rules.scoring import Scoring, parse_scoring
from rules.yamlmarks import load_marked

SCORING_FILE = "scoring.yaml"


def rule_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml") and p.name != SCORING_FILE)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent if root.is_dir() else root.parent))
    except ValueError:
        return str(path)


def load_ruleset(path: str | Path) -> RuleSet:
    root = Path(path)
    if not root.exists():
        raise RuleFileError([problem(str(root), None, "no_such_path")])
    problems: list[Problem] = []
    rules: list[Rule] = []
    files = rule_files(root)
    if not files:
        problems.append(problem(str(root), None, "no_rule_files"))
    for file in files:
        issues = Issues(_display(file, root))
        data, yaml_problems = load_marked(file, issues.file)
        issues.problems.extend(yaml_problems)
        if data is None and not yaml_problems:
            data = []  # an empty file holds no rules
        if data is not None and not isinstance(data, list):
            issues.add(getattr(data, "line", 1), "not_a_list")
        elif data is not None:
            for i, item in enumerate(data):
                rule = parse_rule(item, issues, data.line_of(i))
                if rule is not None:
                    rules.append(rule)
        problems.extend(issues.problems)
    problems.extend(_duplicates(rules))

    scoring = Scoring()
    scoring_path = root / SCORING_FILE if root.is_dir() else None
    if scoring_path and scoring_path.exists():
        issues = Issues(_display(scoring_path, root))
        data, yaml_problems = load_marked(scoring_path, issues.file)
        issues.problems.extend(yaml_problems)
        if not yaml_problems:
            scoring = parse_scoring(data, issues)
        problems.extend(issues.problems)
    if problems:
        raise RuleFileError(problems)
    return RuleSet(rules=rules, version=_version(rules, scoring), scoring=scoring, source=str(root))


def _duplicates(rules: list[Rule]) -> list[Problem]:
    problems = []
    for i, rule in enumerate(rules):
        for earlier in rules[:i]:
            if earlier.id == rule.id and earlier.applies.overlaps(rule.applies):
                problems.append(problem(rule.file, rule.line, "duplicate_id", id=rule.id,
                                        first=f"{earlier.file}:{earlier.line}"))
                break
    return problems


def _version(rules: list[Rule], scoring: Scoring) -> str:
    """Short sha256 of the normalized content: file names, order, comments and formatting
    do not count; any change to a rule or to scoring does."""
    items = sorted(json.dumps(r.raw, sort_keys=True, ensure_ascii=False) for r in rules)
    blob = json.dumps({"rules": items, "scoring": scoring.normalized()}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]
