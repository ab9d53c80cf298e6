"""Inlining: `node v = r(args)`, a call of a used file's whole workflow, unrolled in place.

Takes this program, one `use` and the used file's checked (linked) program;
gives, for each call of the use's alias, the declarations that replace the
call's node, the llm and fn names they call (for linking to copy, renamed
`r.NAME` and shared by every call), and diagnostics E0119, E0120, E0121 (and
E0204/E0205 for the arguments, worded as for any call).

The used file's nodes, states, loops and constants that its one `output`
depends on (a loop whole, with the states it updates) are copied with every
name they declare prefixed by the call's node (`v.NAME`; the output itself
becomes `v`), their spans those of the call. Each input becomes a node `v.INPUT` whose value is the argument as
written (a name is then only an alias: the plan gets no node for it) and
which carries the input's declared type (`ast.WorkflowArg`), so the type
checker checks the argument against it. Its targets, losses, objectives,
outputs and `train` block are left out. A call anywhere but as the whole
value of a top-level node is E0119; a file with no output or several is
E0120, and so is one whose output is a target (its nodes never read a
target: that is E0306 there). A call whose node's name is declared twice is
not inlined (resolve reports E0101 for the name).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import NamedTuple, TypeVar

from adf.compiler.infer import bind_args, report_arg_problems
from adf.compiler.records import Unrolled
from adf.compiler.report import diag
from adf.compiler.resolve import expressions, walk
from adf.compiler.typeexpr import type_of
from adf.diagnostics import Diagnostic, Label, Span
from adf.records import fields, has, replace
from adf.syntax import ast

T = TypeVar("T")
Graphed = ast.NodeDecl | ast.StateDecl | ast.LoopDecl | ast.ConstDecl

MAX_COPIED = 10_000  # statements the workflow calls of one `use` may copy in all (E0121)

# the fields that hold a declared or called name (every other `Ident` is a field, a
# keyword, an enum value or a match label, and keeps its text)
_NAMES = frozenset({
    (ast.NodeDecl, "name"), (ast.StateDecl, "name"), (ast.Assign, "name"),
    (ast.LoopDecl, "name"), (ast.LoopDecl, "bound_names"), (ast.ConstDecl, "name"),
    (ast.Call, "func"), (ast.MapExpr, "item"), (ast.MapExpr, "bound_name"),
})


class Inlined(NamedTuple):
    """What linking needs from the calls of one `use`: the replacement of each call's
    node (by identity), the functions they call, and diagnostics."""

    replaced: dict[int, tuple[ast.Decl, ...]]
    callees: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    sites: tuple[str, ...] = ()  # the names of the calls' nodes


def workflow_calls(program: ast.Program, alias: str) -> tuple[list[ast.NodeDecl], list[ast.Call]]:
    """The top-level nodes whose value is a call of `alias`, and the calls of it elsewhere."""
    sites: list[ast.NodeDecl] = []
    misplaced: list[ast.Call] = []
    for decl in program.decls:
        for expr, _ in expressions(decl):
            for found in walk(expr):
                if not (isinstance(found, ast.Call) and found.func.name == alias):
                    continue
                if isinstance(decl, ast.NodeDecl) and found is decl.value:
                    sites.append(decl)
                else:
                    misplaced.append(found)
    return sites, misplaced


def inline_calls(program: ast.Program, use: ast.UseDecl, used: ast.Program,
                 path: str) -> Inlined:
    alias = use.alias.name
    sites, misplaced = workflow_calls(program, alias)
    diags: list[Diagnostic] = []
    for call in misplaced:
        diags.append(diag(
            "E0119", f"`{alias}(...)` runs the whole workflow of {use.path.raw}: it must be a "
            "node's whole value", call.span, "called inside an expression or a loop",
            notes=("a workflow call is unrolled into nodes named after the node it is the "
                   "value of",),
            help=f"give it a top-level node of its own, `node result = {alias}(...)`, and use "
            "`result` here",
        ))
    counts = Counter(name for decl in program.decls for name in declared_names(decl))
    sites = [s for s in sites if counts[s.name.name] == 1]  # a duplicate: E0101 from resolve
    if not sites:
        return Inlined({}, (), tuple(diags))
    file = os.path.basename(path)
    shape = _shape(used, file, use, diags, sites[0].value.span)
    if shape is not None and _too_large(shape, sites, use, file, diags):
        return Inlined({}, (), tuple(diags))
    replaced: dict[int, tuple[ast.Decl, ...]] = {}
    callees: dict[str, None] = {}
    for site in sites:
        if shape is None:
            break
        inlined = _inline(site, shape, alias, file, diags)
        if inlined is not None:
            replaced[id(site)] = inlined[0]
            callees.update(dict.fromkeys(inlined[1]))
    return Inlined(replaced, tuple(callees), tuple(diags),
                   tuple(s.name.name for s in sites if id(s) in replaced))


class _Shape(NamedTuple):
    """A used file as a function: its inputs, and the declarations its output needs."""

    inputs: tuple[ast.DataDecl, ...]
    output: str
    decls: tuple[Graphed, ...]
    declared: tuple[str, ...]  # every name those declarations declare (map items included)


def mark_calls(unrolled: Unrolled, sites: tuple[str, ...]) -> Unrolled:
    """Each unrolled node of a workflow call with the call's name (`Node.call`): the
    nodes named `v`, `v.ANYTHING` or `v#ITEM...` for a call `node v = r(...)` (`v` is
    one name of this file's one namespace, so only that call's nodes start with it)."""
    if not sites:
        return unrolled
    wanted = set(sites)

    def call(name: str) -> str | None:
        head = name.split(".", 1)[0].split("#", 1)[0]  # `v#0.item`: an item of a map `v`
        return head if head in wanted else None

    return replace(unrolled, nodes=tuple(
        replace(n, call=found) if (found := call(n.name)) is not None else n
        for n in unrolled.nodes))


def _shape(used: ast.Program, file: str, use: ast.UseDecl, diags: list[Diagnostic],
           span: Span) -> _Shape | None:
    outputs = [d for d in used.decls if isinstance(d, ast.OutputDecl)]
    inputs = tuple(d for d in used.decls if isinstance(d, ast.DataDecl) and d.role == "input")
    if len(outputs) != 1:
        diags.append(diag(
            "E0120", f"`{file}` declares {len(outputs)} outputs, so it cannot be called as one "
            "function" if outputs else f"`{file}` declares no output to call",
            span, "calls its whole workflow", secondary=[Label(use.path.span, "used here")],
            notes=("a workflow call gives the value of the used file's one `output`",),
            help="declare exactly one `output` in the used file, or call one of its llms: "
            f"`{use.alias.name}.NAME(...)`",
        ))
        return None
    output = outputs[0].name.name
    if any(isinstance(d, ast.DataDecl) and d.role == "target" and d.name.name == output
           for d in used.decls):
        diags.append(diag(
            "E0120", f"the output of `{file}` is its target `{output}`, which a call does not "
            "supply", span, "calls its whole workflow",
            secondary=[Label(use.path.span, "used here")],
            notes=("a call supplies the used file's inputs only; targets come from each "
                   "sample of the calling file's data",),
            help="declare the target in this file instead, or make the used file's output a "
            "node it computes",
        ))
        return None
    owner: dict[str, Graphed] = {}
    assigners: dict[str, list[ast.LoopDecl]] = {}
    for decl in used.decls:
        if isinstance(decl, Graphed):
            for name in _declares(decl):
                owner.setdefault(name, decl)
        if isinstance(decl, ast.LoopDecl):
            for _, stmt in ast.loop_statements(decl):
                if isinstance(stmt, ast.Assign):
                    assigners.setdefault(stmt.name.name, []).append(decl)
    needed: dict[int, Graphed] = {}
    stack = [output]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for decl in (owner[name], *assigners.get(name, ())) if name in owner else ():
            if id(decl) not in needed:
                needed[id(decl)] = decl
                stack += _reads(decl)
    decls = tuple(needed[id(d)] for d in used.decls if id(d) in needed)  # the used file's order
    declared = tuple(dict.fromkeys(n for d in decls for n in _declares(d)))
    return _Shape(inputs, output, decls, declared)


def _too_large(shape: _Shape, sites: list[ast.NodeDecl], use: ast.UseDecl, file: str,
               diags: list[Diagnostic]) -> bool:
    """E0121 when the calls would copy more than `MAX_COPIED` statements in all: a used
    file's statements already hold the copies of its own calls, so calls that call
    calls multiply, and two calls per file over twenty files would be millions."""
    size = sum(1 + sum(1 for _ in ast.loop_statements(d)) if isinstance(d, ast.LoopDecl) else 1
               for d in shape.decls)
    if size * len(sites) <= MAX_COPIED:
        return False
    diags.append(diag(
        "E0121", f"the {len(sites)} call{'s' if len(sites) != 1 else ''} of `{use.alias.name}` "
        f"would copy {size * len(sites)} statements of `{file}`, more than the limit of "
        f"{MAX_COPIED}", sites[0].value.span, f"{size} statements per call",
        secondary=[Label(use.path.span, "used here")],
        notes=("a workflow call copies the used file's nodes, states and loops (with the "
               "copies made by that file's own workflow calls) once per call",),
        help=f"call `{use.alias.name}` fewer times, or let fewer files call one another's "
        "workflows twice or more",
    ))
    return True


def _inline(site: ast.NodeDecl, shape: _Shape, alias: str, file: str,
            diags: list[Diagnostic]) -> tuple[tuple[ast.Decl, ...], tuple[str, ...]] | None:
    call = site.value
    assert isinstance(call, ast.Call)
    at = site.name.name
    names = tuple(d.name.name for d in shape.inputs)
    bound, problems = bind_args(call.args, names)
    if problems:
        shown = ", ".join(f"{d.name.name}: {type_of(d.type, [])}" for d in shape.inputs)
        report_arg_problems(problems, alias, names, call.span,
                            [Label(call.func.span, f"`{alias}({shown})`, the inputs of `{file}`")],
                            diags)
        return None
    renames = {name: f"{at}.{name}" for name in (*names, *shape.declared)}
    renames[shape.output] = at
    args = dict(bound)
    bindings = tuple(
        ast.NodeDecl(ast.Ident(renames[d.name.name], args[d.name.name].value.span),
                     args[d.name.name].value, args[d.name.name].value.span,
                     ast.WorkflowArg(alias, d.name.name, _respan(d.type, call.span), file))
        for d in shape.inputs
    )
    callees = tuple(dict.fromkeys(c.func.name for d in shape.decls for e, _ in expressions(d)
                                  for c in walk(e) if isinstance(c, ast.Call)))
    renames.update({name: f"{alias}.{name}" for name in callees})
    copied = tuple(_rewrite(d, renames, site.span, (at, site.name.span)) for d in shape.decls)
    return (*bindings, *copied), callees


def declared_names(decl: ast.Decl) -> Iterator[str]:
    """The names a top-level declaration declares: a use's alias, a loop's name and its
    body's (nested loops included), or the declaration's own name (an `output` names
    what it shows and declares nothing)."""
    if isinstance(decl, ast.UseDecl):
        yield decl.alias.name
    elif isinstance(decl, ast.LoopDecl):
        yield decl.name.name
        yield from (s.name.name for _, s in ast.loop_statements(decl)
                    if isinstance(s, ast.NodeDecl | ast.LoopDecl))
    elif not isinstance(decl, ast.OutputDecl) and isinstance(
            name := getattr(decl, "name", None), ast.Ident):
        yield name.name


def _declares(decl: Graphed) -> Iterator[str]:
    """The names a declaration of the used file declares: its own and its loop body's
    (`declared_names`), and the items of the maps in it."""
    yield from declared_names(decl)
    for expr, _ in expressions(decl):
        yield from (e.item.name for e in walk(expr) if isinstance(e, ast.MapExpr))


def _reads(decl: Graphed) -> Iterator[str]:
    """The names a declaration reads or writes: values, bounds, `until` conditions and
    the states a loop assigns (so their declarations are copied and renamed too, and a
    used file's loop never writes a state of the calling file)."""
    for expr, _ in expressions(decl):
        for found in walk(expr):
            if isinstance(found, ast.Ref):
                yield found.name
            elif isinstance(found, ast.MapExpr) and found.bound_name is not None:
                yield found.bound_name.name
    if isinstance(decl, ast.LoopDecl):
        for loop in ast.nested_loops(decl):
            yield from (b.name for b in loop.bound_names if b is not None)
        yield from (s.name.name for _, s in ast.loop_statements(decl)
                    if isinstance(s, ast.Assign))


def _rewrite(node: T, renames: dict[str, str], span: Span, keep: tuple[str, Span],
             named: bool = False) -> T:
    """`node` with the names in `renames` renamed (in references and in the name fields
    of `_NAMES`) and every span replaced by `span`; an `Ident` renamed to `keep[0]` (the
    call's node) gets `keep[1]`, the span of that node's name."""
    if isinstance(node, Span):
        return span  # type: ignore[return-value]
    if isinstance(node, tuple):
        return tuple(_rewrite(item, renames, span, keep, named)  # type: ignore[return-value]
                     for item in node)
    if isinstance(node, ast.Ref):
        return ast.Ref(renames.get(node.name, node.name), span)  # type: ignore[return-value]
    if isinstance(node, ast.Ident):
        if not named:
            return ast.Ident(node.name, span)  # type: ignore[return-value]
        new = renames.get(node.name, node.name)
        return ast.Ident(new, keep[1] if new == keep[0] else span)  # type: ignore[return-value]
    if has(type(node)):
        return replace(node, **{
            f.name: _rewrite(getattr(node, f.name), renames, span, keep,
                             (type(node), f.name) in _NAMES)
            for f in fields(type(node))})
    return node


def _respan(node: T, span: Span) -> T:
    return _rewrite(node, {}, span, ("", span))
