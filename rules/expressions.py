"""Safe arithmetic expressions over report field keys, evaluated with simpleeval.

``compile_expression`` checks the text at load time against a small whitelist of syntax
(numbers, field keys such as ``apply.new.total``, + - * /, comparisons, and/or/not,
if-else and abs/min/max/sum/round) and rewrites each dotted key to a plain identifier so
simpleeval never sees attribute access. ``evaluate_expression`` runs the rewritten tree
with simpleeval, comparing with a tolerance so decimals written as 0.1 + 0.2 still equal 0.3.
Never uses eval/exec; must not know about rules, reports or messages.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any

import simpleeval

from rules.errors import ExpressionError
from rules.fields import KNOWN_FIELDS, is_known_field
from rules.wording import COMPARISONS, OPERATORS, SYNTAX, reason

MAX_LENGTH = 4000  # ARI-02 spelled out is ~1000 characters; anything far longer is a mistake
# Nesting of the parsed tree (a + b + c nests one level a term). The library's deepest is 26;
# checking, rewriting and evaluating recurse several frames a level, so this keeps them far
# from Python's recursion limit wherever they run (a worker's stack included).
MAX_DEPTH = 100
MAX_CONSTANT = 10**12  # larger literals are never a report figure; refusing them bounds arithmetic
FUNCTIONS = {"abs": abs, "min": min, "max": max, "sum": lambda *xs: sum(xs), "round": round}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


@dataclass(frozen=True)
class Expression:
    """A checked expression. ``fields`` are the report keys it reads, in order of appearance."""

    source: str
    fields: tuple[str, ...]
    tree: ast.AST = field(repr=False, compare=False)
    # For a single top-level comparison: (left tree, operator text, right tree), so
    # messages can show both sides and their difference.
    comparison: tuple[ast.AST, str, ast.AST] | None = field(default=None, repr=False, compare=False)
    # For a comparison of two sums (most identities): ((coef, key)..., constant) per side,
    # evaluated without walking the tree; the same result as simpleeval (tests check both).
    linear: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def is_condition(self) -> bool:
        return isinstance(self.tree, (ast.Compare, ast.BoolOp)) or (
            isinstance(self.tree, ast.UnaryOp) and isinstance(self.tree.op, ast.Not)
        )


def _safe_name(key: str) -> str:
    # simpleeval refuses names starting with "_"; keys start with a letter, so this is safe.
    return "f_" + key.replace(".", "__")


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Rewriter(ast.NodeTransformer):
    """Validates every node and replaces dotted field keys by safe identifiers."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def generic_visit(self, node: ast.AST) -> ast.AST:
        allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.USub, ast.UAdd,
                   ast.Not, ast.IfExp, ast.Load, *_BINOPS, *_CMPOPS)
        if not isinstance(node, allowed):
            kind = type(node).__name__
            raise ExpressionError("syntax_refused", kind, what=SYNTAX.get(kind, "这种写法"))
        return super().generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if type(node.op) not in _BINOPS:
            name = type(node.op).__name__
            raise ExpressionError("operator_refused", name, op=OPERATORS.get(name, name))
        return super().generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        for op in node.ops:
            if type(op) not in _CMPOPS:
                name = type(op).__name__
                raise ExpressionError("comparison_refused", name, op=COMPARISONS.get(name, name))
        return super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, bool):
            return node
        if not isinstance(node.value, (int, float)):
            raise ExpressionError("constant_refused", repr(node.value), value=node.value)
        if abs(node.value) > MAX_CONSTANT:
            raise ExpressionError("constant_too_large", value=node.value, limit=MAX_CONSTANT)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self._field(node.id, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        key = _dotted(node)
        if key is None:
            raise ExpressionError("attribute_refused")
        return self._field(key, node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError("call_refused", name=ast.unparse(node.func), functions=list(FUNCTIONS))
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError("call_arguments_refused")
        node.args = [self.visit(a) for a in node.args]
        return node

    def _field(self, key: str, node: ast.AST) -> ast.AST:
        if key.startswith("_") or "__" in key:
            raise ExpressionError("name_refused", name=key)
        if not is_known_field(key):
            if "." not in key:
                raise ExpressionError("field_undotted", key=key)
            raise ExpressionError("field_unknown", near=(key, KNOWN_FIELDS), key=key)
        if key not in self.fields:
            self.fields.append(key)
        return ast.copy_location(ast.Name(id=_safe_name(key), ctx=ast.Load()), node)


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def compile_expression(text: str) -> Expression:
    """Check and rewrite; raises ExpressionError with a hint. Called when rules load."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression_empty")
    source = " ".join(text.split())  # YAML folded scalars may carry line breaks
    if len(source) > MAX_LENGTH:
        raise ExpressionError("expression_too_long", length=len(source), limit=MAX_LENGTH)
    try:
        parsed = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError("expression_malformed", f"{exc.msg} at column {exc.offset}", reason=reason(exc.msg),
                              column=exc.offset) from None
    except (RecursionError, MemoryError):  # the parser's own limit on nesting
        raise ExpressionError("expression_too_deep") from None
    depth = _depth(parsed)  # measured without recursion, before anything recurses over the tree
    if depth > MAX_DEPTH:
        raise ExpressionError("expression_depth", depth=depth, limit=MAX_DEPTH)
    rewriter = _Rewriter()
    tree = rewriter.visit(parsed).body
    ast.fix_missing_locations(tree)
    comparison = linear = None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
        comparison = (tree.left, _CMPOPS[type(tree.ops[0])], tree.comparators[0])
        left, right = _linear(tree.left), _linear(tree.comparators[0])
        if left is not None and right is not None:
            linear = (left, comparison[1], right)
    return Expression(source, tuple(rewriter.fields), tree, comparison, linear)


def _linear(node: ast.AST, sign: int = 1) -> tuple[tuple[tuple[int, str], ...], float] | None:
    """A side made of field keys and constants joined by + and - (no products), as
    ((±1, key), ...) and a constant; None for anything else."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        left = _linear(node.left, sign)
        right = _linear(node.right, sign if isinstance(node.op, ast.Add) else -sign)
        if left is None or right is None:
            return None
        return left[0] + right[0], left[1] + right[1]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _linear(node.operand, -sign if isinstance(node.op, ast.USub) else sign)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum":
        parts = [_linear(arg, sign) for arg in node.args]  # sum(a, b, …) is a + b + …, flat
        if any(part is None for part in parts):
            return None
        return tuple(t for part in parts for t in part[0]), sum(part[1] for part in parts)
    if isinstance(node, ast.Name) and node.id.startswith("f_"):
        return ((sign, node.id[2:].replace("__", ".")),), 0
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return (), sign * node.value
    return None


@dataclass
class Result:
    value: Any
    left: float | int | None = None
    right: float | int | None = None

    @property
    def diff(self) -> float | int | None:
        if self.left is None or self.right is None:
            return None
        return self.left - self.right


def _close(a: float, b: float, tolerance: float) -> bool:
    # Relative epsilon absorbs binary float noise (0.1 + 0.2); tolerance is the rule's slack.
    return abs(a - b) <= tolerance + 1e-9 * max(1.0, abs(a), abs(b))


def _evaluator(values: dict[str, Any], tolerance: float) -> simpleeval.SimpleEval:
    ops = {
        ast.Add: simpleeval.safe_add, ast.Sub: operator.sub, ast.Mult: simpleeval.safe_mult,
        ast.Div: operator.truediv, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
        ast.Eq: lambda a, b: _close(a, b, tolerance),
        ast.NotEq: lambda a, b: not _close(a, b, tolerance),
        ast.Lt: lambda a, b: a < b - tolerance, ast.LtE: lambda a, b: a <= b + tolerance,
        ast.Gt: lambda a, b: a > b + tolerance, ast.GtE: lambda a, b: a >= b - tolerance,
    }
    names = {_safe_name(k): v for k, v in values.items()}
    return simpleeval.SimpleEval(operators=ops, functions=dict(FUNCTIONS), names=names)


_COMPARE = {
    "==": lambda a, b, t: _close(a, b, t), "!=": lambda a, b, t: not _close(a, b, t),
    "<": lambda a, b, t: a < b - t, "<=": lambda a, b, t: a <= b + t,
    ">": lambda a, b, t: a > b + t, ">=": lambda a, b, t: a >= b - t,
}


def _side(terms: tuple, constant: float, values: dict[str, Any]):
    total = constant
    for sign, key in terms:
        total = total + values[key] if sign > 0 else total - values[key]
    return total


def evaluate_expression(expr: Expression, values: dict[str, Any], tolerance: float = 0) -> Result:
    """Evaluate with field values by key. Raises ArithmeticError (e.g. division by zero),
    KeyError or simpleeval errors (a name without a value); callers turn those into
    "not evaluated"."""
    if expr.linear is not None:
        (lterms, lconst), op, (rterms, rconst) = expr.linear
        left, right = _side(lterms, lconst, values), _side(rterms, rconst, values)
        return Result(_COMPARE[op](left, right, tolerance), left, right)
    return evaluate_with_simpleeval(expr, values, tolerance)


def evaluate_with_simpleeval(expr: Expression, values: dict[str, Any], tolerance: float = 0) -> Result:
    """The general path (and the reference the linear fast path is tested against)."""
    ev = _evaluator(values, tolerance)
    value = ev.eval(expr.source, previously_parsed=expr.tree)
    if expr.comparison is None:
        return Result(value)
    left_tree, _, right_tree = expr.comparison
    return Result(value, ev.eval(expr.source, previously_parsed=left_tree),
                  ev.eval(expr.source, previously_parsed=right_tree))
