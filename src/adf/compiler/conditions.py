"""Type rules of conditions: comparisons and `and` / `or` / `not`.

Takes the expression and the type checker's `infer`; gives `bool` and
diagnostics. E0242: a comparison of values that cannot be compared: `==` and
`!=` take two numbers, two texts (`str` or enum), two `bool`s or two lists
or records of the same type, an enum compared with a quoted label must
name one of its labels, and two enums must share a label; `<`, `<=`, `>`, `>=` take two numbers or two `str`s.
E0243: an operand of `and`, `or` or `not` that is not a `bool`. The plan
computes them with the `std.op` entries of `adf.stdlib.signatures.OPERATORS`.
"""

from __future__ import annotations

from collections.abc import Callable

from adf.compiler import types as T
from adf.compiler.report import diag, suggest
from adf.diagnostics import Diagnostic, Label
from adf.plan.schema import Type
from adf.syntax import ast

Infer = Callable[[ast.Expr, Type | None], Type | None]
_NUMBERS = frozenset({"int", "float"})
_TEXT = frozenset({"str", "enum"})


def infer_compare(expr: ast.Compare, infer: Infer, diags: list[Diagnostic]) -> Type | None:
    left = infer(expr.left, None)
    right = infer(expr.right, left)
    if left is None or right is None or "any" in (left.kind, right.kind):
        return T.BOOL
    problem = _compare_problem(expr, left, right)
    if problem:
        message, help_ = problem
        diags.append(diag(
            "E0242", message, expr.span, f"`{left}` {expr.op} `{right}`",
            secondary=[Label(expr.left.span, f"this is `{left}`"),
                       Label(expr.right.span, f"this is `{right}`")],
            help=help_,
        ))
    return T.BOOL


def _compare_problem(expr: ast.Compare, left: Type, right: Type) -> tuple[str, str] | None:
    kinds = {left.kind, right.kind}
    if expr.op in ("<", "<=", ">", ">="):
        if kinds <= _NUMBERS or kinds == {"str"}:
            return None
        return (f"cannot order `{left}` and `{right}` with `{expr.op}`",
                "`<`, `<=`, `>` and `>=` compare two numbers or two `str`s; "
                "compare an enum or a `bool` with `==` or `!=`")
    if kinds <= _NUMBERS or kinds == {"bool"}:
        return None
    if kinds <= _TEXT:
        return _label_problem(expr, left, right)
    if left.kind in ("list", "record") and (T.assignable(left, right) or T.assignable(right, left)):
        return None
    return (f"cannot compare `{left}` with `{right}`",
            "`==` and `!=` compare values of one kind: two numbers, two texts, two `bool`s, "
            "or two lists or records of the same type")


def _label_problem(expr: ast.Compare, left: Type, right: Type) -> tuple[str, str] | None:
    """An enum compared with a quoted text must name one of its labels."""
    for enum, other in ((left, expr.right), (right, expr.left)):
        if enum.kind == "enum" and isinstance(other, ast.StrLit) and other.value not in enum.values:
            hint = suggest(other.value, enum.values)
            return (f"`{enum}` has no label \"{other.value}\", so this is never equal",
                    hint or "the labels are " + ", ".join(enum.values))
    if left.kind == "enum" and right.kind == "enum" and not set(left.values) & set(right.values):
        return (f"`{left}` and `{right}` share no label, so this is never equal",
                "compare values that can agree: give both the same labels")
    return None


def infer_bool_op(expr: ast.BoolOp | ast.Not, infer: Infer, diags: list[Diagnostic]) -> Type | None:
    operands = expr.terms if isinstance(expr, ast.BoolOp) else (expr.value,)
    op = expr.op if isinstance(expr, ast.BoolOp) else "not"
    for operand in operands:
        found = infer(operand, T.BOOL)
        if found is not None and found.kind not in ("bool", "any"):
            diags.append(diag(
                "E0243", f"`{op}` needs `bool` operands, found `{found}`", operand.span,
                f"this is `{found}`",
                help="compare it to get a `bool`, e.g. `score >= 3` or `label == \"yes\"`",
            ))
    return T.BOOL
