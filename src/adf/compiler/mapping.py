"""Type rules of per-item work: `map item in items max N => body`.

Takes the expression, the `Scope` (for a bound written as a `const`'s name),
the type checker's `infer` and its table of value types; gives the type of
the whole expression, `list[U]` where `U` is the body's type, and
diagnostics: E0240 when `items` is not a list, E0241 when the bound is not
between 1 and `MAX_MAP_ITEMS`. The item name has the list's element type
while the body is checked. `map_bound` is the one reading of a bound that
the type checker and the unroller share.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from adf.compiler import types as T
from adf.compiler.report import diag
from adf.compiler.resolve import Scope
from adf.diagnostics import Diagnostic
from adf.plan.schema import Type
from adf.syntax import ast

MAX_MAP_ITEMS = 1000
Infer = Callable[[ast.Expr, Type | None], Type | None]


def map_bound(expr: ast.MapExpr, scope: Scope) -> int | None:
    """The most items the map takes; None when its `const` is unknown (resolve said so)."""
    if expr.bound_name is None:
        return expr.bound
    symbol = scope.symbols.get(expr.bound_name.name)
    if symbol is None or symbol.kind != "const":
        return None
    decl = symbol.decl
    assert isinstance(decl, ast.ConstDecl)
    return decl.value


def infer_map(
    expr: ast.MapExpr, scope: Scope, infer: Infer, values: MutableMapping[str, Type | None],
    diags: list[Diagnostic],
) -> Type | None:
    items = infer(expr.items, None)
    element: Type | None = None
    if items is not None and items.kind == "list":
        element = items.of
    elif items is not None and items.kind != "any":
        diags.append(diag(
            "E0240", f"`map` needs a list, found `{items}`", expr.items.span, f"this is `{items}`",
            help="map over a list, e.g. the `list[str]` a retriever returns; to call a function "
            "once, call it directly",
        ))
    elif items is not None:
        element = T.ANY
    bound = map_bound(expr, scope)
    if bound is not None and not 1 <= bound <= MAX_MAP_ITEMS:
        diags.append(diag(
            "E0241", f"the bound of `map` is {bound}, not between 1 and {MAX_MAP_ITEMS}",
            expr.bound_span, "bad bound",
            notes=("`map` is unrolled at compile time: one copy of its body per item it may take",),
            help="give the most items the list can hold that are worth the calls, e.g. `max 5`",
        ))
    values[expr.item.name] = element
    body = infer(expr.body, None)
    return T.list_of(body) if body is not None else None
