"""Whether a text can hold a match of a pattern at all, told from the strings every match
must contain (``(?:收到|受理)[^。]{0,12}?申请`` needs 申请 and one of 收到/受理).

A rule pattern is searched over a whole report, and most of them match nowhere: the regex
engine tries every position for a pattern that does not start with a literal (``{n}件…``),
where ``str.__contains__`` finds out in one fast pass that a word it needs is absent. Only
ever says False when no match is possible, so searching after a True gives the same result
as searching always. Must not know rules or reports.
"""

from __future__ import annotations

import re
from functools import lru_cache

try:  # the stdlib's own parser of patterns (sre_parse before 3.11)
    from re import _constants as C
    from re import _parser as parser
except ImportError:  # pragma: no cover - older layout
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as parser  # type: ignore[no-redef]

_REPEATS = tuple(getattr(C, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(C, name))


def _clauses(items) -> list[tuple[str, ...]]:
    """Clauses that every match of the sequence ``items`` satisfies: each clause is a tuple
    of strings, one of which the match contains. Anything not understood requires nothing."""
    clauses: list[tuple[str, ...]] = []
    run = ""
    for op, av in items:
        if op is C.LITERAL:
            run += chr(av)
            continue
        if run:
            clauses.append((run,))
            run = ""
        if op is C.SUBPATTERN:
            _, add_flags, _, sub = av
            if not add_flags & C.SRE_FLAG_IGNORECASE:
                clauses += _clauses(sub.data)
        elif op in _REPEATS:
            low, _, sub = av
            if low >= 1:
                clauses += _clauses(sub.data)
        elif op is C.BRANCH:
            options: list[str] = []
            for alternative in av[1]:
                inner = _clauses(alternative.data)
                if not inner:  # this alternative needs no string: neither does the branch
                    options = []
                    break
                options += max(inner, key=lambda clause: min(map(len, clause)))
            if options:
                clauses.append(tuple(dict.fromkeys(options)))
        # Lookarounds look outside the match; classes, anchors, backreferences: no string.
    if run:
        clauses.append((run,))
    return clauses


@lru_cache(maxsize=1024)
def required(pattern: re.Pattern) -> tuple[tuple[str, ...], ...]:
    """The clauses every match of ``pattern`` satisfies (none when unsure)."""
    if pattern.flags & re.IGNORECASE or not isinstance(pattern.pattern, str):
        return ()
    try:
        return tuple(_clauses(parser.parse(pattern.pattern, pattern.flags).data))
    except Exception:  # noqa: BLE001 - a parser we cannot read only costs the shortcut
        return ()


def may_match(pattern: re.Pattern, text: str) -> bool:
    """False only when no match of ``pattern`` can lie in ``text``."""
    return all(any(s in text for s in clause) for clause in required(pattern))
