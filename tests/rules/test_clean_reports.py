"""Every rule of the library is silent on a clean report of each template.

The two reports are authored (tests/fixtures/clean-*.txt: a district government's report in
the 2021 format and in the 2019 trial format, every table filled, the prose agreeing with
the tables). A rule that fails, or cannot evaluate, on either one asks something the
report's own template does not ask, or misreads what it says.
"""

from datetime import date
from pathlib import Path

import pytest

from rules import LIBRARY, Context, evaluate, load_ruleset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = {"2021": "clean-2021-zhenyuan-2023.txt", "2019": "clean-2019-zhenyuan-2020.txt"}
RULESET = load_ruleset(LIBRARY)


def _evaluate(template: str):
    from documents.reader import read_document

    path = FIXTURES / CLEAN[template]
    report = read_document(path.read_bytes(), name=path.name)
    assert report.meta["template"] == template and report.meta["template_source"] == "tables"
    ctx = Context(report.meta["agency"], report.meta["level_hint"], report.meta["year"],
                  date.fromisoformat(report.meta["published"]))
    return evaluate(RULESET, report, ctx)


RESULTS = {template: _evaluate(template) for template in CLEAN}


@pytest.mark.parametrize("template", list(CLEAN))
@pytest.mark.parametrize("rule_id", RULESET.ids)
def test_rule_is_silent_on_a_clean_report(rule_id, template):
    result = RESULTS[template]
    said = [f"{o.subject or '(whole report)'} {o.status}: {o.message}" for o in result.outcomes
            if o.rule_id == rule_id and o.status != "pass"]
    assert not said, f"{rule_id} on the clean {template} report:\n" + "\n".join(said)


@pytest.mark.parametrize("template", list(CLEAN))
def test_a_clean_report_is_judged_whole(template):
    result = RESULTS[template]
    assert (result.score, result.grade, result.coverage) == (100, "优", 1.0)
