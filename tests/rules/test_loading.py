"""Loading rule files: every problem reported with file:line and a hint."""

import pytest

from rules import RuleFileError, load_ruleset
from tests.rules.rulehelp import RULE_HEAD, with_applies


def problems_of(root):
    with pytest.raises(RuleFileError) as info:
        load_ruleset(root)
    return info.value


def test_valid_rule_loads(write_rules):
    root = write_rules(a=RULE_HEAD + """\
  check:
    kind: expression
    for_each: {c: [natural, total]}
    assert: apply.new.{c} + apply.carried.{c} == apply.results_total.{c} + apply.carry_forward.{c}
  message: "“{c_label}”列：{left} 与 {right} 相差{diff}"
""")
    ruleset = load_ruleset(root)
    [rule] = ruleset.rules
    assert (rule.id, rule.severity, rule.weight, rule.category) == ("ARI-01", "error", 10, "arithmetic")
    assert rule.basis["status"] == "VERIFIED"
    assert len(ruleset.version) == 12


def test_unknown_key_gets_did_you_mean_with_line(write_rules):
    root = write_rules(a=RULE_HEAD + """\
  severty: error
  check: {kind: deadline}
""")
    err = problems_of(root)
    [p] = err.problems
    assert p.file.endswith("a.yaml") and p.line == 8
    assert p.message == "规则中有未知的键 'severty'" and p.code == "unknown_key"
    assert p.hint == "是否想写 'severity'？"
    assert "a.yaml:8: 规则中有未知的键 'severty' — 是否想写 'severity'？" in str(err)


def test_every_problem_is_reported_at_once(write_rules):
    root = write_rules(
        a="""\
- id: ARI-01
  title: 坏规则
  severity: critical
  category: arithmetics
  basis: {text: x, status: PROVEN}
  check:
    kind: expresion
- id: ARI-02
  title: 坏表达式
  severity: error
  category: arithmetic
  basis: {text: x, status: IMPLIED}
  check:
    kind: expression
    assert: apply.new.totl == apply.new.total
""",
        b="""\
- id: TXT-01
  title: 好
  severity: info
  category: text
  basis: {text: x, status: IMPLIED}
  check: {kind: pattern, patterns: ["(未闭合"]}
""",
    )
    err = problems_of(root)
    text = str(err)
    messages = [(p.file.rsplit("/", 1)[-1], p.line, p.message, p.hint) for p in err.problems]
    assert ("a.yaml", 3, "'severity' 的值 'critical' 不在可选范围内", "可选：'error'、'warning'、'info'") in messages
    assert any(m[1] == 4 and "arithmetics" in m[2] and "是否想写 'arithmetic'" in m[3] for m in messages)
    assert any(m[1] == 5 and "PROVEN" in m[2] for m in messages)
    assert any(m[1] == 7 and "未知的检查类型 'expresion'" in m[2] and "'expression'" in m[3] for m in messages)
    assert any(m[1] == 15 and "未知的字段键 'apply.new.totl'" in m[2] and "'apply.new.total'" in m[3]
               for m in messages)
    assert any(m[0] == "b.yaml" and m[1] == 6 and "正则表达式 '(未闭合' 有误：圆括号不成对" in m[2] for m in messages)
    assert text.startswith(f"规则文件中有 {len(err.problems)} 处问题：")


def test_malformed_expression(write_rules):
    root = write_rules(a=RULE_HEAD + """\
  check:
    kind: expression
    assert: "apply.new.total + == 3"
""")
    [p] = problems_of(root).problems
    assert p.line == 10 and "表达式写法有误" in p.message and p.hint and p.code == "expression_malformed"
    assert p.detail.startswith("invalid syntax")  # what Python said, for the log


def test_placeholder_not_declared_in_for_each(write_rules):
    root = write_rules(a=RULE_HEAD + """\
  check:
    kind: expression
    assert: apply.new.{col} == 1
""")
    [p] = problems_of(root).problems
    assert "占位符 '{col}' 不是 'for_each' 中的变量" in p.message and "for_each" in p.hint


def test_unknown_message_placeholder(write_rules):
    root = write_rules(a=RULE_HEAD + """\
  check: {kind: deadline}
  message: 逾期{days_lat}天
""")
    [p] = problems_of(root).problems
    assert p.line == 9 and "{days_lat}" in p.message and "days_late" in p.hint


def test_duplicate_rule_id_names_first_location(write_rules):
    root = write_rules(a=RULE_HEAD + "  check: {kind: deadline}\n", b=RULE_HEAD + "  check: {kind: deadline}\n")
    [p] = problems_of(root).problems
    assert p.file.endswith("b.yaml") and p.line == 1
    assert "规则编号 'ARI-01' 重复（首次出现在" in p.message and "a.yaml:1" in p.message
    assert "templates" in p.hint


def test_variants_with_disjoint_templates_share_an_id(write_rules):
    root = write_rules(
        a=with_applies('{templates: ["2021"], levels: [government, department]}') + '  check: {kind: deadline}\n'
        + with_applies('{templates: ["2019"], levels: [government, department]}') + '  check: {kind: deadline}\n')
    assert [r.applies.templates for r in load_ruleset(root).rules] == [("2021",), ("2019",)]


def test_duplicate_yaml_key_and_syntax_error(write_rules):
    root = write_rules(a=RULE_HEAD + "  weight: 5\n  check: {kind: deadline}\n", b="- id: [unclosed\n")
    err = problems_of(root)
    assert any(p.line == 8 and "键 'weight' 重复出现" in p.message for p in err.problems)
    assert any(p.file.endswith("b.yaml") and "YAML 格式有误" in p.message and p.detail for p in err.problems)


def test_unknown_section_and_topics_groups(write_rules):
    root = write_rules(a=RULE_HEAD.replace("ARI-01", "TXT-01") + """\
  check:
    kind: topics
    section: overveiw
    groups: {考核: []}
""")
    messages = [(p.line, p.message, p.hint) for p in problems_of(root).problems]
    assert any(line == 10 and "overveiw" in m and "'overview'" in h for line, m, h in messages)
    assert any(line == 11 and "需要关键词列表" in m for line, m, h in messages)


def test_version_tracks_content_not_formatting(write_rules, tmp_path):
    base = RULE_HEAD + "  check: {kind: deadline}\n"
    v1 = load_ruleset(write_rules(a=base)).version
    v2 = load_ruleset(write_rules(a="# a comment\n" + base.replace("weight: 10", "weight:   10"))).version
    v3 = load_ruleset(write_rules(a=base.replace("weight: 10", "weight: 9"))).version
    assert v1 == v2 != v3


def test_scoring_file_is_validated(write_rules):
    root = write_rules(a=RULE_HEAD + "  check: {kind: deadline}\n",
                       scoring="category_caps: {arithmetc: 10}\ngrades: {A: 90, B: 50}\n")
    messages = [p.message for p in problems_of(root).problems]
    assert any("未知的类别 'arithmetc'" in m for m in messages)
    assert any("没有从 0 分起的等级" in m for m in messages)


def test_missing_path_and_single_file(tmp_path, write_rules):
    with pytest.raises(RuleFileError, match="没有这个文件或目录"):
        load_ruleset(tmp_path / "nope")
    root = write_rules(a=RULE_HEAD + "  check: {kind: deadline}\n")
    assert [r.id for r in load_ruleset(root / "a.yaml").rules] == ["ARI-01"]
