"""Shared text for the rule tests (imported by name: pytest puts this directory on sys.path)."""

RULE_HEAD = """\
- id: ARI-01
  title: 测试规则
  severity: error
  weight: 10
  category: arithmetic
  basis: {text: 测试依据, status: VERIFIED}
  applies: {templates: ["2021", "2019"], levels: [government, department]}
"""


def with_applies(applies: str) -> str:
    """RULE_HEAD for a rule with its own applies, e.g. with_applies('{templates: ["2021"], levels: [government]}')."""
    return RULE_HEAD.replace('{templates: ["2021", "2019"], levels: [government, department]}', applies)
