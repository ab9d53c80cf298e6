"""Loop bounds from named constants, and `until` conditions.

`bind_constants` takes the parsed `Program`; gives the program with every
loop bound written as a name (`0..max_hops`) replaced by the value of its
`const` declaration, plus E0102 for a bound that names no constant. It runs
right after parsing, so every later pass sees integer bounds.

`check_until` takes the program, its `Scope` and `Typing`; gives E0307 when
a loop's `until` names something other than a `bool` node of that loop's
body, or is a condition that is not a `bool`: the condition is computed in
each step, and when it is `true` the steps after that one do not run.
"""

from __future__ import annotations

from adf.compiler.report import diag, suggest
from adf.compiler.resolve import Scope
from adf.compiler.typecheck import Typing, until_key
from adf.diagnostics import Diagnostic, Label
from adf.records import replace
from adf.syntax import ast
from adf.syntax.ast import nested_loops


def bind_constants(program: ast.Program) -> tuple[ast.Program, tuple[Diagnostic, ...]]:
    constants: dict[str, int] = {}
    for decl in program.decls:
        if isinstance(decl, ast.ConstDecl):
            constants.setdefault(decl.name.name, decl.value)
    diags: list[Diagnostic] = []
    decls = [_bind(d, constants, diags) if isinstance(d, ast.LoopDecl) else d
             for d in program.decls]
    return ast.Program(tuple(decls)), tuple(diags)


def _bind(decl: ast.LoopDecl, constants: dict[str, int], diags: list[Diagnostic]) -> ast.LoopDecl:
    """The loop with its bounds, and those of the loops nested in it, bound."""
    if any(isinstance(s, ast.LoopDecl) for s in decl.body):
        body = tuple(_bind(s, constants, diags) if isinstance(s, ast.LoopDecl) else s
                     for s in decl.body)
        decl = replace(decl, body=body)
    if decl.bound_names == (None, None):
        return decl
    values: list[int | None] = [decl.start, decl.end]
    for i, name in enumerate(decl.bound_names):
        if name is None:
            continue
        if name.name in constants:
            values[i] = constants[name.name]
        else:
            diags.append(diag(
                "E0102", f"undefined constant `{name.name}`", name.span,
                "no `const` with this name",
                help=suggest(name.name, constants) or f"declare it: `const {name.name} = 3`",
                notes=("a loop bound is an integer or the name of a `const`",),
            ))
            values[i] = None
    # an unknown bound gives a one-step range: no follow-on E0303
    start = values[0] if values[0] is not None else (values[1] or 1) - 1
    end = values[1] if values[1] is not None else start + 1
    return replace(decl, start=start, end=end)


def check_until(program: ast.Program, scope: Scope, typing: Typing) -> tuple[Diagnostic, ...]:
    diags: list[Diagnostic] = []
    loops = (loop for d in program.decls if isinstance(d, ast.LoopDecl) for loop in nested_loops(d))
    for decl in loops:
        if decl.until is None:
            continue
        until = decl.until
        if not isinstance(until, ast.Ref):  # a condition: typed by typecheck
            found = typing.values.get(until_key(decl))
            if found is not None and found.kind not in ("bool", "any"):
                diags.append(diag(
                    "E0307", f"the `until` condition is `{found}`, not `bool`", until.span,
                    f"`{found}`", help="the loop stops after a step whose condition is `true`; "
                    "write a comparison or a `bool` value, e.g. `until found or tries >= 2`",
                ))
            continue
        symbol = scope.symbols.get(until.name)
        secondary = [Label(symbol.span, "declared here")] if symbol is not None else []
        if symbol is None or symbol.kind != "node" or symbol.loop != decl.name.name:
            diags.append(diag(
                "E0307", f"`until {until.name}` must name a node of the loop `{decl.name.name}`",
                until.span, "not a node of this loop's body", secondary=secondary,
                help=f"declare the condition in the body: `node {until.name} = check(...)` "
                "with an llm or fn returning `bool`",
            ))
            continue
        found = typing.values.get(until.name)
        if found is not None and found.kind not in ("bool", "any"):
            diags.append(diag(
                "E0307", f"`until {until.name}` needs a `bool`, found `{found}`", until.span,
                f"`{found}`", secondary=secondary,
                help="the loop stops after a step whose condition is `true`; "
                "compute it with an llm or fn returning `bool`",
            ))
    return tuple(diags)
