"""Objectives: check `loss total = 0.7 * em + 0.3 * f1` declarations.

Takes the `Program` and its `Scope`; gives diagnostics: E0102 for a term
naming nothing, E0130 for a term that is not a metric loss (another
objective, a node, ...), E0231 for weights that are negative, do not add up
to 1, or a loss named twice. An objective's score is the weighted sum of
its terms' scores, so with weights adding up to 1 it stays in [0, 1] like
every other loss and the training threshold keeps its meaning.
"""

from __future__ import annotations

from adf.compiler.report import diag, suggest
from adf.compiler.resolve import Scope
from adf.diagnostics import Diagnostic, Label
from adf.syntax import ast

WEIGHT_TOLERANCE = 1e-9


def check_objectives(program: ast.Program, scope: Scope) -> tuple[Diagnostic, ...]:
    diags: list[Diagnostic] = []
    metric_losses = [d.name.name for d in program.decls if isinstance(d, ast.LossDecl)]
    for decl in program.decls:
        if isinstance(decl, ast.ObjectiveDecl):
            diags += _objective(decl, scope, metric_losses)
    return tuple(diags)


def _objective(
    decl: ast.ObjectiveDecl, scope: Scope, metric_losses: list[str]
) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    seen: dict[str, ast.WeightedLoss] = {}
    for term in decl.terms:
        name = term.loss.name
        symbol = scope.symbols.get(name)
        if symbol is None:
            diags.append(diag(
                "E0102", f"undefined name `{name}`", term.loss.span, f"no loss named `{name}`",
                help=suggest(name, metric_losses) or f"declare `loss {name} = std.loss.METRIC(pred, target)`",
            ))
        elif not isinstance(symbol.decl, ast.LossDecl):
            what = "another objective" if isinstance(symbol.decl, ast.ObjectiveDecl) else f"a {symbol.kind}"
            diags.append(diag(
                "E0130", f"the objective `{decl.name.name}` combines `{name}`, which is {what}",
                term.loss.span, "not a metric loss",
                secondary=[Label(symbol.span, "declared here")],
                help="an objective weighs losses declared as `loss NAME = std.loss.METRIC(pred, target)`; "
                "list their terms directly instead of nesting objectives",
            ))
        if name in seen:
            diags.append(diag(
                "E0231", f"the objective `{decl.name.name}` names `{name}` twice", term.span,
                "named again", secondary=[Label(seen[name].span, "first named here")],
                help="add the weights into one term",
            ))
        seen.setdefault(name, term)
        if term.weight < 0:
            diags.append(diag(
                "E0231", f"the weight of `{name}` in `{decl.name.name}` is negative",
                term.weight_span or term.span, "a negative weight",
                help="weights say how much each loss counts; use numbers from 0 to 1 that add up to 1",
            ))
            return diags
    total = sum(t.weight for t in decl.terms)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        scaled = " + ".join(f"{_number(t.weight / total)} * {t.loss.name}" for t in decl.terms) if total > 0 else ""
        diags.append(diag(
            "E0231", f"the weights of `{decl.name.name}` add up to {_number(total)}, not 1",
            decl.span, "weights must add up to 1",
            notes=("an objective's score is the weighted sum of its losses' scores; "
                   "with weights adding up to 1 it stays between 0 and 1",),
            help=f"scale them: `loss {decl.name.name} = {scaled}`" if scaled else "give the losses positive weights",
        ))
    return diags


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"
