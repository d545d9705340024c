"""Shared text for the rule tests (imported by name: pytest puts this directory on sys.path)."""

RULE_HEAD = """\
- id: ARI-01
  title: 测试规则
  severity: error
  weight: 10
  category: arithmetic
  basis: {text: 测试依据, status: VERIFIED}
"""
