"""Errors of the rules package.

A rule file that cannot be loaded raises ``RuleFileError`` carrying *every* problem found
(file, line, message, hint), so an admin fixes a file in one pass instead of one error per
run. Message and hint are Chinese sentences (rules/wording.py); ``code`` names the kind of
problem and ``detail`` keeps what a library said (PyYAML, ``re``, an exception), for the API
and the logs. Problems are collected while loading; nothing here reads files or evaluates rules.
"""

from __future__ import annotations

from typing import NamedTuple

from rules.wording import text_of


class Problem(NamedTuple):
    """One thing wrong in a rule file. A plain tuple, so callers may unpack it."""

    file: str
    line: int | None
    message: str
    hint: str = ""
    code: str = ""
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message,
                "hint": self.hint, "detail": self.detail}


def problem(file: str, line: int | None, code: str, *, near: tuple | None = None, detail: str = "", **params) -> Problem:
    """A Problem said as rules/wording.py says ``code``."""
    message, hint = text_of(code, params, near)
    return Problem(file, line, message, hint, code, detail)


class RuleError(Exception):
    """Base of the errors this package raises."""


class RuleFileError(RuleError):
    """One or more rule (or rule test) files are invalid; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem] | list[tuple]):
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(*p) for p in problems]
        self.problems.sort(key=lambda p: (p.file, p.line or 0))
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        head = f"规则文件中有 {count} 处问题："
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def __str__(self) -> str:
        return self._render()

    def log_text(self) -> str:
        """For the logs: each problem with its code and what a library said."""
        return "\n".join(f"  {p} [{p.code}]" + (f" ({p.detail})" if p.detail else "") for p in self.problems)


class ExpressionError(RuleError):
    """An expression is not allowed or malformed (raised while compiling, i.e. at load time);
    ``code`` and its parameters name the problem in rules/wording.py."""

    def __init__(self, code: str, detail: str = "", near: tuple | None = None, **params):
        self.code, self.detail, self.params = code, detail, params
        self.message, self.hint = text_of(code, params, near)
        super().__init__(self.message)
