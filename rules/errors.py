"""Errors of the rules package.

A rule file that cannot be loaded raises ``RuleFileError`` carrying *every* problem found
(file, line, message, hint), so an admin fixes a file in one pass instead of one error per
run. Problems are collected while loading; nothing here reads files or evaluates rules.
"""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    """One thing wrong in a rule file. A plain tuple, so callers may unpack it."""

    file: str
    line: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


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


class ExpressionError(RuleError):
    """An expression is not allowed or malformed (raised while compiling, i.e. at load time)."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
