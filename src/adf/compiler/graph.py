"""Graph build: order the program's statements by data flow and find cycles.

Takes the `Program` and its `Scope`; gives a `Graph` (top-level nodes and
whole loops in a topological order, each loop's body in its own order) and
diagnostics E03xx: cycles (named, with the edge that closes each step),
loop ranges that are empty or too long, state updates outside a loop or
repeated, and targets read by the forward graph (a label leak).

Dependencies: a node depends on the nodes its expression names. A loop is
one vertex outside and its body is ordered separately: inside the loop a
state name means the value from the previous step, so data flows from one
step to the next only through states and a cycle within one step is an
error like any other. Outside its loop, a loop node or an updated state
means the value after the last step. A loop nested in a loop's body is one
vertex of that body, ordered the same way (a body node reading an inner
node or a state the inner loop updates comes after the inner loop), and
the bounds of nested loops multiply against the unrolling limit (E0308), and
so do the `max` of a map and the bounds of the maps and loops around it.
Ties are broken by source order, so the
order (and the plan) is deterministic. Everything is iterative: a chain of
50,000 nodes needs no recursion.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from adf.compiler.mapping import MAX_MAP_ITEMS, map_bound
from adf.compiler.records import Graph as Graph
from adf.compiler.records import OrderedLoop as OrderedLoop
from adf.compiler.report import diag
from adf.compiler.resolve import Scope, children, walk
from adf.diagnostics import Diagnostic, Label, Span
from adf.syntax import ast
from adf.syntax.ast import loop_statements, nested_loops

MAX_LOOP_STEPS = 1000  # steps of one loop, and of nested loops together (their product)
MAX_NESTING = 8  # loops inside loops, the outermost included


_Edge = tuple[str, Span]


def build_graph(program: ast.Program, scope: Scope) -> tuple[Graph, tuple[Diagnostic, ...]]:
    diags: list[Diagnostic] = []
    updates = _state_updates(program, scope, diags)
    _no_leaked_fields(program, diags)
    vertices: dict[str, ast.NodeDecl | ast.LoopDecl] = {}
    deps: dict[str, list[_Edge]] = {}
    for decl in program.decls:
        match decl:
            case ast.NodeDecl():
                key = decl.name.name
                if scope.get(key, "node") is not None and scope.symbols[key].decl is decl:
                    vertices[key] = decl
                    deps[key] = _deps(decl.value, None, scope, updates)
                _no_targets(decl.value, scope, diags)
                _check_map_copies(decl.value, (), scope, diags)
            case ast.LoopDecl():
                key = "loop " + decl.name.name
                if _check_sizes(decl, diags):
                    for loop, stmt in loop_statements(decl):
                        if not isinstance(stmt, ast.LoopDecl):
                            _check_map_copies(stmt.value, _loops_around(decl, loop), scope, diags)
                    for loop in nested_loops(decl):
                        if loop.until is not None:
                            _check_map_copies(loop.until, _loops_around(decl, loop), scope, diags)
                vertices[key] = decl
                deps[key] = _loop_deps(decl, None, scope, updates)
                for expr in _loop_exprs(decl):
                    _no_targets(expr, scope, diags)
            case ast.StateDecl():
                _no_targets(decl.init, scope, diags)
            case ast.Assign():
                diags.append(
                    diag(
                        "E0305",
                        f"state `{decl.name.name}` is updated outside a loop",
                        decl.span,
                        "update outside a loop",
                        help="state updates belong in a `loop NAME in 0..N { ... }` body; "
                        "outside a loop, declare a `node` instead",
                    )
                )
            case _:
                pass
    order_keys = _toposort(list(vertices), deps, vertices, diags, top_level=True)
    order: list[ast.NodeDecl | OrderedLoop] = []
    for key in order_keys:
        vertex = vertices[key]
        if isinstance(vertex, ast.LoopDecl):
            order.append(_order_body(vertex, scope, updates, diags, 1))
        else:
            order.append(vertex)
    return Graph(tuple(order), updates), tuple(diags)


def _state_updates(program: ast.Program, scope: Scope, diags: list[Diagnostic]) -> dict[str, str]:
    updates: dict[str, str] = {}
    first: dict[str, ast.Assign] = {}
    for top in program.decls:
        if not isinstance(top, ast.LoopDecl):
            continue
        for decl, stmt in loop_statements(top):
            if not isinstance(stmt, ast.Assign) or scope.get(stmt.name.name, "state") is None:
                continue
            name = stmt.name.name
            if name in first:
                where = (
                    "in this loop"
                    if updates[name] == decl.name.name
                    else f"in loop `{updates[name]}`"
                )
                diags.append(
                    diag(
                        "E0304",
                        f"state `{name}` is updated more than once",
                        stmt.span,
                        "second update",
                        secondary=[Label(first[name].span, f"first updated here ({where})")],
                        help="combine the updates into one expression, e.g. `s = s + a + b`",
                    )
                )
                continue
            first[name] = stmt
            updates[name] = decl.name.name
    return updates


def _deps(expr: ast.Expr, level: str | None, scope: Scope, updates: dict[str, str]) -> list[_Edge]:
    """The edges `expr` adds among the statements of one body: `level`'s (the top level
    for `None`). A node of that body is a vertex of its own; a node of a loop nested
    in it, or a state such a loop updates, is that loop's vertex; anything else was
    computed before the body runs (or, for a state `level` updates, in its previous
    step) and adds no edge."""
    edges: list[_Edge] = []
    for node in walk(expr):
        if not isinstance(node, ast.Ref):
            continue
        symbol = scope.symbols.get(node.name)
        if symbol is None:
            continue
        owner = symbol.loop if symbol.kind == "node" else (
            updates.get(node.name) if symbol.kind == "state" else None)
        if symbol.kind == "node" and owner == level:
            edges.append((node.name, node.span))
        elif owner is not None:
            child = scope.child(owner, level)
            if child is not None:
                edges.append(("loop " + child, node.span))
    return edges


def _loop_exprs(decl: ast.LoopDecl) -> list[ast.Expr]:
    """The expressions of a loop's body and of the loops nested in it, with the `until`
    conditions (a bare name is E0307's)."""
    exprs = [s.value for _, s in loop_statements(decl) if not isinstance(s, ast.LoopDecl)]
    return exprs + [loop.until for loop in nested_loops(decl)
                    if loop.until is not None and not isinstance(loop.until, ast.Ref)]


def _loop_deps(
    decl: ast.LoopDecl, level: str | None, scope: Scope, updates: dict[str, str]
) -> list[_Edge]:
    """The edges of a loop seen as one vertex of `level`'s body."""
    key = "loop " + decl.name.name
    edges = [e for expr in _loop_exprs(decl) for e in _deps(expr, level, scope, updates)]
    return [e for e in edges if e[0] != key]


def _no_leaked_fields(program: ast.Program, diags: list[Diagnostic]) -> None:
    """E0306 for an `input` that reads the data field a `target` reads: the workflow
    would see the expected answer as an input."""
    targets = {ast.row_field(d): d for d in program.decls
               if isinstance(d, ast.DataDecl) and d.role == "target"}
    for decl in program.decls:
        if not isinstance(decl, ast.DataDecl) or decl.role != "input":
            continue
        target = targets.get(ast.row_field(decl))
        if target is not None:
            diags.append(diag(
                "E0306",
                f"the input `{decl.name.name}` reads the field \"{ast.row_field(decl)}\", which "
                f"the target `{target.name.name}` reads",
                decl.field.span if decl.field is not None else decl.name.span,
                "the expected answer as an input",
                secondary=[Label(target.span, "the target reading it")],
                help="targets hold the expected answers; read another field with "
                "`from \"FIELD\"`, or drop the input. A loss may compare with the input itself: "
                "for a round trip, drop the target and write `std.loss.f1(back, INPUT)`",
            ))


def _no_targets(expr: ast.Expr, scope: Scope, diags: list[Diagnostic]) -> None:
    for node in walk(expr):
        if isinstance(node, ast.Ref):
            symbol = scope.get(node.name, "target")
            if symbol is not None:
                diags.append(
                    diag(
                        "E0306",
                        f"the target `{node.name}` is read by the workflow",
                        node.span,
                        "a target used as an input",
                        secondary=[Label(symbol.span, "declared as a target here")],
                        help="targets hold the expected answers; only losses and outputs may read them. "
                        "Declare it as an `input` if the workflow should see it",
                    )
                )


def _loops_around(top: ast.LoopDecl, inner: ast.LoopDecl) -> tuple[ast.LoopDecl, ...]:
    """The chain of loops from `top` down to `inner` (both included)."""
    stack: list[tuple[ast.LoopDecl, tuple[ast.LoopDecl, ...]]] = [(top, (top,))]
    while stack:
        decl, chain = stack.pop()
        if decl is inner:
            return chain
        stack.extend((s, (*chain, s)) for s in decl.body if isinstance(s, ast.LoopDecl))
    return (top,)


def _check_map_copies(expr: ast.Expr, loops: tuple[ast.LoopDecl, ...], scope: Scope,
                      diags: list[Diagnostic]) -> None:
    """E0308 for a `map` whose body would be copied more than `MAX_LOOP_STEPS` times:
    its `max` times the bounds of the maps and loops around it (each multiplies the
    copies, as nested loops do). Reported once, at the outermost map over the limit."""
    factor = 1
    for loop in loops:
        factor *= loop.end - loop.start
    stack: list[tuple[ast.Expr, int, tuple[ast.MapExpr, ...]]] = [(expr, factor, ())]
    while stack:
        node, copies, maps = stack.pop()
        if not isinstance(node, ast.MapExpr):
            stack.extend((child, copies, maps) for child in children(node))
            continue
        bound = map_bound(node, scope)
        usable = bound is not None and 1 <= bound <= MAX_MAP_ITEMS  # else E0241's
        inner = copies * (bound or 1) if usable else copies
        if inner > MAX_LOOP_STEPS:
            diags.append(diag(
                "E0308",
                f"the `map` over `{node.item.name}` unrolls to {inner} copies of its body, "
                f"more than the limit of {MAX_LOOP_STEPS}",
                node.bound_span, f"{inner} copies in all",
                secondary=[Label(loop.range_span, f"`{loop.name.name}` runs {loop.end - loop.start} steps")
                           for loop in loops]
                + [Label(outer.bound_span, f"`map` over `{outer.item.name}` takes up to "
                         f"{map_bound(outer, scope)} items") for outer in maps],
                notes=("a `map` is unrolled at compile time: its body is copied once per item it "
                       "may take, in every step of the loops around it and every item of the "
                       "maps around it",),
                help="lower the map's `max` or the bounds around it (their product is the number "
                "of copies), or move the map out of the loop",
            ))
            continue
        stack.append((node.items, copies, maps))
        stack.append((node.body, inner, (*maps, node)))


def _check_sizes(top: ast.LoopDecl, diags: list[Diagnostic]) -> bool:
    """Each loop's range (E0303, E0302), then the loops nested in it: the product of
    the bounds of a loop and of every loop around it (the copies of its body) and
    the depth of nesting are limited (E0308). Whether all of them were within limits."""
    ok = True
    stack: list[tuple[ast.LoopDecl, tuple[ast.LoopDecl, ...]]] = [(top, ())]
    while stack:
        decl, around = stack.pop()
        if not _check_range(decl, diags):
            ok = False
            continue
        chain = (*around, decl)
        total = 1
        for loop in chain:
            total *= loop.end - loop.start
        if len(chain) > MAX_NESTING or total > MAX_LOOP_STEPS:
            names = " in ".join(f"`{loop.name.name}`" for loop in reversed(chain))
            too_deep = len(chain) > MAX_NESTING
            diags.append(diag(
                "E0308",
                f"the loop {names} is nested {len(chain)} deep, more than the limit of "
                f"{MAX_NESTING}" if too_deep else
                f"the nested loops {names} unroll to {total} steps, more than the limit of "
                f"{MAX_LOOP_STEPS}",
                decl.range_span, "nested too deep" if too_deep else f"{total} steps in all",
                secondary=[Label(loop.range_span, f"`{loop.name.name}` runs "
                                 f"{loop.end - loop.start} steps") for loop in around],
                notes=("loops are unrolled at compile time: a nested loop's body is copied "
                       "once per step of every loop around it",),
                help="lower the bounds (the product of the bounds of nested loops is the "
                "number of copies), or move the inner loop out of the outer one",
            ))
            ok = False
            continue
        stack.extend((s, chain) for s in reversed(decl.body) if isinstance(s, ast.LoopDecl))
    return ok


def _check_range(decl: ast.LoopDecl, diags: list[Diagnostic]) -> bool:
    """Whether the range is usable (neither empty nor too long)."""
    steps = decl.end - decl.start
    if steps <= 0:
        diags.append(
            diag(
                "E0303",
                f"loop `{decl.name.name}` never runs: the range {decl.start}..{decl.end} is empty",
                decl.range_span,
                "empty range",
                help=f"a range `a..b` runs b - a steps; write e.g. `{decl.start}..{decl.start + 2}`",
            )
        )
    elif steps > MAX_LOOP_STEPS:
        diags.append(
            diag(
                "E0302",
                f"loop `{decl.name.name}` runs {steps} steps, more than the limit of {MAX_LOOP_STEPS}",
                decl.range_span,
                "too many steps",
                notes=("loops are unrolled at compile time; every step is a copy of the body",),
                help="use a smaller bound; a few steps are usually enough for multi-hop workflows",
            )
        )
    return 0 < steps <= MAX_LOOP_STEPS


def _order_body(
    decl: ast.LoopDecl, scope: Scope, updates: dict[str, str], diags: list[Diagnostic],
    depth: int,
) -> OrderedLoop:
    """A loop with its body ordered: its nodes and the loops nested in it (each one
    vertex, ordered in turn), then its state updates."""
    loop = decl.name.name
    vertices: dict[str, ast.NodeDecl | ast.LoopDecl] = {}
    deps: dict[str, list[_Edge]] = {}
    for s in decl.body:
        if isinstance(s, ast.NodeDecl):
            symbol = scope.symbols.get(s.name.name)
            if symbol is not None and symbol.decl is s:
                vertices[s.name.name] = s
                deps[s.name.name] = _deps(s.value, loop, scope, updates)
        elif isinstance(s, ast.LoopDecl) and depth < MAX_NESTING:  # deeper: E0308
            symbol = scope.symbols.get(s.name.name)
            if symbol is not None and symbol.decl is s:
                vertices["loop " + s.name.name] = s
                deps["loop " + s.name.name] = _loop_deps(s, loop, scope, updates)
    keys = _toposort(list(vertices), deps, vertices, diags, top_level=False, loop=loop)
    body: list[ast.NodeDecl | ast.Assign | OrderedLoop] = []
    for key in keys:
        vertex = vertices[key]
        body.append(_order_body(vertex, scope, updates, diags, depth + 1)
                    if isinstance(vertex, ast.LoopDecl) else vertex)
    body += [s for s in decl.body if isinstance(s, ast.Assign)]
    return OrderedLoop(decl, tuple(body))


def _toposort(
    keys: Sequence[str],
    deps: dict[str, list[_Edge]],
    vertices: dict[str, ast.NodeDecl | ast.LoopDecl],
    diags: list[Diagnostic],
    *,
    top_level: bool,
    loop: str | None = None,
) -> list[str]:
    """Kahn's algorithm, ties broken by source order; reports cycles."""
    index = {key: i for i, key in enumerate(keys)}
    users: dict[str, list[str]] = {key: [] for key in keys}
    pending: dict[str, int] = {}
    for key in keys:
        targets = {d for d, _ in deps.get(key, ()) if d in index}
        pending[key] = len(targets)
        for target in targets:
            users[target].append(key)
    ready = [(index[k], k) for k in keys if pending[k] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(key)
        for user in users[key]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready, (index[user], user))
    if len(order) < len(keys):
        _report_cycles(keys, deps, pending, vertices, diags, loop)
    return order


def _report_cycles(
    keys: Sequence[str],
    deps: dict[str, list[_Edge]],
    pending: dict[str, int],
    vertices: dict[str, ast.NodeDecl | ast.LoopDecl],
    diags: list[Diagnostic],
    loop: str | None,
) -> None:
    remaining = [k for k in keys if pending[k] > 0]
    left = set(remaining)
    reported: set[str] = set()
    for start in remaining:
        if start in reported:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        spans: list[Span] = []
        current = start
        while current not in position:
            position[current] = len(path)
            path.append(current)
            nxt = next(((d, s) for d, s in deps.get(current, ()) if d in left), None)
            if nxt is None:  # cannot happen for a vertex left over by Kahn's algorithm
                break
            spans.append(nxt[1])
            current = nxt[0]
        else:
            cycle = path[position[current] :]
            cycle_spans = spans[position[current] :]
            if not reported.intersection(cycle):
                diags.append(_cycle_diag(cycle, cycle_spans, vertices, loop))
            reported.update(path)
            continue
        reported.update(path)


def _cycle_diag(
    cycle: list[str],
    spans: list[Span],
    vertices: dict[str, ast.NodeDecl | ast.LoopDecl],
    loop: str | None,
) -> Diagnostic:
    def shown(key: str) -> str:
        return key.replace("loop ", "loop ") if key.startswith("loop ") else f"`{key}`"

    chain = " -> ".join(shown(k) for k in [*cycle, cycle[0]])
    labels = []
    for i, key in enumerate(cycle):
        nxt = cycle[(i + 1) % len(cycle)]
        labels.append(Label(spans[i], f"{shown(key)} uses {shown(nxt)} here"))
    first = vertices[cycle[0]]
    where = f" within one step of loop `{loop}`" if loop else ""
    name_span = first.name.span
    if len(cycle) == 1:
        message = f"{shown(cycle[0])} depends on itself{where}"
    else:
        message = f"cycle{where}: {chain}"
    return diag(
        "E0301",
        message,
        name_span,
        "part of the cycle",
        secondary=labels,
        notes=(f"each one uses the next: {chain}",),
        help="a value cannot depend on itself; to feed a result back, declare a `state` "
        "and update it inside a bounded `loop`",
    )
