"""Type rules of routing: `if c then a else b` and `match x { A => a, B => b }`.

Takes the expression and the type checker's `infer` (so branches are typed
like any other expression); gives the type of the whole expression and
diagnostics: E0233 for a condition that is not a `bool` or a `match` on a
value that is not an enum, E0234 for a `match` that misses labels, names a
label the enum lacks, names one twice or has a `_` arm that covers nothing,
E0232 for branches whose types do not agree. The branches' common type is
the wider of the two when one flows into the other, the union of two enums,
or `str` for text and an enum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from adf.compiler import types as T
from adf.compiler.report import diag, suggest
from adf.diagnostics import Diagnostic, Label
from adf.plan.schema import Type
from adf.syntax import ast

WILDCARD = "_"
Infer = Callable[[ast.Expr, Type | None], Type | None]


def join(a: Type | None, b: Type | None) -> Type | Literal[False] | None:
    """The type both branches can be read as; False when they do not agree."""
    if a is None or b is None:
        return None
    if a.kind == "enum" and b.kind == "enum":
        return Type("enum", values=tuple(dict.fromkeys((*a.values, *b.values))))
    if T.assignable(a, b):
        return b
    if T.assignable(b, a):
        return a
    if {a.kind, b.kind} <= {"str", "enum"}:
        return T.STR
    return False


def infer_if(expr: ast.IfExpr, infer: Infer, diags: list[Diagnostic]) -> Type | None:
    cond = infer(expr.cond, T.BOOL)
    if cond is not None and cond.kind not in ("bool", "any"):
        diags.append(diag(
            "E0233", f"the condition of `if` is `{cond}`, not `bool`", expr.cond.span,
            f"this is `{cond}`",
            help="test a `bool` value (an llm or fn returning `bool`); "
            "to choose by a label, use `match VALUE { LABEL => ..., _ => ... }`",
        ))
    then = infer(expr.then, None)
    other = infer(expr.other, then)
    return _agree(expr, [(expr.then, then), (expr.other, other)], diags)


def infer_match(expr: ast.MatchExpr, infer: Infer, diags: list[Diagnostic]) -> Type | None:
    subject = infer(expr.subject, None)
    arms = [(arm.value, infer(arm.value, None)) for arm in expr.arms]
    if subject is not None and subject.kind not in ("enum", "bool"):
        diags.append(diag(
            "E0233", f"`match` needs an enum or a `bool`, found `{subject}`", expr.subject.span,
            f"this is `{subject}`",
            help="declare the value's type as an enum, e.g. `-> enum{math, other}`, so every "
            "label can be checked to have its arm",
        ))
        subject = None
    if subject is not None:
        _exhaustive(expr, labels(subject), diags)
    return _agree(expr, arms, diags)


def labels(subject: Type) -> tuple[str, ...]:
    """The labels a `match` on a value of this type must cover."""
    return ("true", "false") if subject.kind == "bool" else subject.values


def _exhaustive(expr: ast.MatchExpr, allowed: tuple[str, ...], diags: list[Diagnostic]) -> None:
    seen: dict[str, ast.MatchArm] = {}
    wildcard: ast.MatchArm | None = None
    for arm in expr.arms:
        label = arm.label.name
        if label == WILDCARD:
            wildcard = arm
            continue
        if label not in allowed:
            diags.append(diag(
                "E0234", f"`{label}` is not a label of `enum{{{', '.join(allowed)}}}`",
                arm.label.span, "no such label",
                help=suggest(label, allowed) or f"the labels are: {', '.join(allowed)}",
            ))
        elif label in seen:
            diags.append(diag(
                "E0234", f"the label `{label}` has two arms", arm.label.span, "second arm",
                secondary=[Label(seen[label].label.span, "first arm")],
                help="remove one of the arms; each label runs exactly one",
            ))
        seen.setdefault(label, arm)
    missing = [label for label in allowed if label not in seen]
    if missing and wildcard is None:
        shown = ", ".join(f"`{m}`" for m in missing)
        diags.append(diag(
            "E0234", f"`match` does not cover {shown}", expr.subject.span,
            "some labels have no arm",
            notes=("a sample whose value is a label without an arm would have no result",),
            help="add an arm for each missing label, or a default `_ => ...` arm",
        ))
    elif wildcard is not None and not missing:
        diags.append(diag(
            "E0234", "the `_` arm can never run: every label has its own arm",
            wildcard.label.span, "covers nothing",
            help="remove the `_` arm",
        ))


def _agree(
    expr: ast.Expr, branches: list[tuple[ast.Expr, Type | None]], diags: list[Diagnostic]
) -> Type | None:
    result: Type | None = branches[0][1]
    for branch, found in branches[1:]:
        joined = join(result, found)
        if joined is False:
            diags.append(diag(
                "E0232", f"the branches disagree: `{result}` and `{found}`", branch.span,
                f"this is `{found}`", secondary=[Label(branches[0][0].span, f"this is `{result}`")],
                help="every branch must give a value of one type; convert one of them "
                "(e.g. with an fn) so they agree",
            ))
            return None
        result = joined
    return result
