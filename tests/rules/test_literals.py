"""rules/literals.py lets a search be skipped when a string every match needs is absent: it
must never skip a search that would have found something, or a finding would be lost."""

import dataclasses
import re
from pathlib import Path

from documents.reader import read_path
from rules import LIBRARY, load_ruleset, prose
from rules.literals import may_match, required

PORTALS = Path(__file__).resolve().parents[2] / "examples" / "portals"


def _patterns(value):
    """Every compiled pattern inside a rule's parameters."""
    if isinstance(value, re.Pattern):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _patterns(getattr(value, f.name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _patterns(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _patterns(item)


def test_strings_every_match_needs():
    assert required(re.compile("(?:收到|受理|新收)[^。；]{0,12}?申请")) == (("收到", "受理", "新收"), ("申请",))
    assert required(re.compile(prose.expand("{n}(?:件|个)(?:申请)?(?<!不)(?:予以公开|部分公开)"))) == \
        (("予以公开", "部分公开"),)
    assert required(re.compile("(?:已|共)?办结(ab){2}c*d+")) == (("办结",), ("ab",), ("d",))
    # Nothing is required where an alternative, an optional part or a case-blind match needs nothing.
    assert required(re.compile("申请|(?:办结)?")) == ()
    assert required(re.compile("(?i)abc")) == ()
    assert required(re.compile("(?i:ab)cd")) == (("cd",),)
    assert not may_match(re.compile("(?:收到|受理)[^。]*申请"), "本机关收到材料")
    assert may_match(re.compile("(?:收到|受理)[^。]*申请"), "本机关收到了申请")


def test_never_skips_a_search_that_finds_something():
    patterns = {p for rule_id in load_ruleset(LIBRARY).ids for rule in load_ruleset(LIBRARY).get(rule_id)
                for p in _patterns(rule.params)}
    texts = []
    for path in sorted(PORTALS.glob("*/nb20*.*")):
        text = read_path(path).text
        texts += [text, prose._document(text)[0]]
    assert len(patterns) > 50 and len(texts) >= 8
    found = skipped = 0
    for pattern in patterns:
        for text in texts:
            if pattern.search(text):
                found += 1
                assert may_match(pattern, text), pattern.pattern
            elif not may_match(pattern, text):
                skipped += 1
    assert found > 50 and skipped > 100  # both sides exercised: matches kept, vain searches skipped
