"""Loop unrolling: the checked program -> the time-stepped DAG of plan nodes.

Takes the `Program`, `Scope`, `Typing` and `Graph` of a program without
errors; gives `Unrolled`: `adf.plan.schema.Node`s in topological order,
one `LoopInfo` per loop, and the source id each name finally stands for.
Nodes are created in graph order (inputs before users, nested calls before
the call that uses them), so creation order is a valid topological order
and the same program always gives the same order.

Node ids
- A top-level `node n = f(...)` is the node `n`. A loop copy at step `t`
  is `n@t` (its `name` is `n`, `step` is `t`, `loop` the loop's name).
- Nested calls and literals get `OWNER.I`, where OWNER is the id stem of
  the node that consumes them and I the index of the argument they fill:
  in `node pred = last_int(solve(question))` the inner call is `pred.0`;
  inside a loop at step 1 it would be `pred.0@1`. Deeper nesting extends
  the path: `pred.0.1`.
- `a + b + c` becomes a chain of `std.op.add` fn nodes: the partial sum
  `a + b` is `OWNER.sum1`, the whole sum is OWNER itself; operands that
  need nodes of their own are `OWNER.0`, `OWNER.1`, `OWNER.2`.
- A state `s` has a const node `s` for its initial value; the update in
  its loop at step `t` is `s@t` (the value after step `t`). Inside the
  loop `s` reads the previous step's value; elsewhere it reads the value
  after the loop's last step.
- A loop variable `hop` used in the body is a const node `hop@t` holding `t`.
- A loop nested in a loop's body is unrolled once per step of the loop around
  it: its copies are `n@t.u` (outer step `t`, inner step `u`; deeper nesting
  adds a number), their `step` is `u` and their `loop` the inner loop. After
  the inner loop, within the outer step, its names read its last step (or,
  for an `until` loop, the `last` node `n.last@t`); after the outer loop,
  its last step's values.
- A loss argument that is an expression is `LOSS.I`.
- `record.name` is a `field` node (`Node.field` = `name`) reading the
  record's id; `node a = b.c` makes the field node `a`.
- `if c then a else b` and `match x { A => a, _ => b }` become a `select`
  node OWNER reading `cond` (OWNER.0) and one `case:LABEL` per branch
  (OWNER.1, OWNER.2, ...); the nodes written inside a branch carry a
  `Guard` (`Node.when`): they run only when the condition takes that branch.
- `map p in items max N => body` becomes, for each item `i < N`, an `item`
  node `OWNER#i.item` (element `i` of the list, OWNER.0 when the list is an
  expression) and the body's nodes with the stem `OWNER#i`, each guarded by
  that item node and numbered `Node.item = i`; then the `map` node OWNER
  reading `items` and `item0`, `item1`, ... Inside a loop, `@t` follows.
- A comparison `a >= b` is a `std.op.ge` fn node OWNER reading `left`
  (OWNER.0) and `right` (OWNER.1); `not x` a `std.op.not` node reading
  `value`; `a and b and c` a chain of `std.op.and` nodes like `+` (the
  partial result `OWNER.and1`), `or` the same with `std.op.or`.
- A loop's `until` condition that is not a bare name is computed at the end
  of each step under the stem `LOOP.until` (`hop.until@1`), with states
  reading that step's update.
- `node a = b` (a bare name) creates no node: `a` stands for `b`'s id.
Names cannot contain `.`, `#` or `@`, so these ids never collide with user names.
Parameters are not nodes: every step's llm node refers to the same param.
"""

from __future__ import annotations

import json

from adf.compiler import types as T
from adf.compiler.graph import Graph, OrderedLoop
from adf.compiler.infer import bind_args
from adf.compiler.mapping import map_bound
from adf.compiler.records import PendingLast
from adf.compiler.records import Unrolled as Unrolled
from adf.compiler.resolve import Scope
from adf.compiler.routing import WILDCARD, join, labels
from adf.compiler.tools import tool_specs
from adf.compiler.typecheck import Typing
from adf.diagnostics import Span
from adf.plan.schema import (
    Binding,
    EnvRef,
    FnSpec,
    Guard,
    LlmSpec,
    LoopInfo,
    Node,
    OptionValue,
    TemplatePart,
    Type,
)
from adf.records import replace
from adf.stdlib.signatures import OPERATORS
from adf.syntax import ast


def unroll(program: ast.Program, scope: Scope, typing: Typing, graph: Graph) -> Unrolled:
    unroller = _Unroller(program, scope, typing, graph)
    unroller.run()
    return Unrolled(tuple(unroller.nodes), tuple(unroller.loops), unroller.final)


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plan_options(options: tuple[ast.Option, ...]) -> tuple[tuple[str, OptionValue], ...]:
    """Options as the plan stores them: `env("X")` stays an `EnvRef`, a name its text."""
    out: list[tuple[str, OptionValue]] = []
    for option in options:
        value = option.value
        if isinstance(value, ast.EnvCall):
            out.append((option.name.name, EnvRef(value.var.value)))
        elif isinstance(value, ast.Ref):
            out.append((option.name.name, value.name))
        else:
            out.append((option.name.name, value.value))
    return tuple(out)


def fn_ref(target: ast.FnTarget) -> str:
    return target.name if isinstance(target, ast.StdRef) else "py:" + target.ref.value


class _Unroller:
    def __init__(self, program: ast.Program, scope: Scope, typing: Typing, graph: Graph):
        self.program = program
        self.scope = scope
        self.typing = typing
        self.graph = graph
        self.nodes: list[Node] = []
        self.types: dict[str, Type] = {}
        self.specs: dict[str, LlmSpec] = {}
        self.loops: list[LoopInfo] = []
        self.recorded: set[str] = set()  # the loops in `loops`
        self.final: dict[str, str] = {}
        self.state_init: set[str] = set()
        self.llms = {d.name.name: d for d in program.decls if isinstance(d, ast.LlmDecl)}
        self.fns = {d.name.name: d for d in program.decls if isinstance(d, ast.FnDecl)}
        # Context of the step being unrolled: the innermost loop and its step, and every
        # loop around it, outermost first, with its step and the guards of that step.
        self.loop: str | None = None
        self.step: int | None = None
        self.frames: list[tuple[str, int, tuple[Guard, ...]]] = []
        self.local: dict[str, str] = {}
        self.guards: list[Guard] = []  # the branches being unrolled, outermost first
        self.item: int | None = None  # the `map` item being unrolled
        self.step_guards: tuple[Guard, ...] = ()  # what every node of this loop step carries
        self.versions: dict[str, str] = {}  # a state updated in a loop -> its latest id
        # `last` nodes of `until` loops, made when first read: id -> what to make
        self.pending: dict[str, PendingLast] = {}
        # names of top-level `until` loops -> their `last` node's id, until it is read
        self.lasts: dict[str, str] = {}

    def run(self) -> None:
        for name, symbol in self.scope.symbols.items():
            if symbol.kind in ("input", "target"):
                self.final[name] = name
        for item in self.graph.order:
            if isinstance(item, OrderedLoop):
                after = self._loop(item)
                for name, value in after.items():
                    self.final[name] = value
            else:
                self.final[item.name.name] = self._expr(
                    item.value, item.name.name, self.typing.values.get(item.name.name)
                )
        for name, symbol in self.scope.symbols.items():
            if symbol.kind == "state" and name not in self.final:
                self.final[name] = self._state_value(name)  # read only by outputs or losses
        for decl in self.program.decls:  # outputs and losses read `until` loops' values too
            read = [decl.name.name] if isinstance(decl, ast.OutputDecl) else [
                a.value.name for a in decl.args if isinstance(a.value, ast.Ref)
            ] if isinstance(decl, ast.LossDecl) else []
            for name in read:
                if name in self.lasts:
                    self.final[name] = self._made(self.lasts.pop(name))
                elif name in self.final:
                    self.final[name] = self._made(self.final[name])

    def _loop(self, item: OrderedLoop) -> dict[str, str]:
        """Unroll a loop (and the loops nested in it) in the current context; gives what
        each name of its body and each state it updates stands for after it."""
        decl = item.decl
        loop = decl.name.name
        updated = [s.name.name for s in item.body if isinstance(s, ast.Assign)]
        for name in updated:
            self.versions.setdefault(name, self._state_value(name))
        outer_local, outer_guards = self.local, self.step_guards
        outer_frames = list(self.frames)
        body_names: list[str] = []
        steps: dict[str, list[str]] = {}  # name -> its id at each step (`until` loops)
        dones: list[str] = []  # the `until` node's id at each step
        done: str | None = None  # the `until` node's id in the previous step
        after: dict[str, str] = {}
        for step in range(decl.start, decl.end):
            self.guards = [*outer_guards, Guard(done, ("false",))] if done is not None else list(
                outer_guards)
            self.step_guards = tuple(self.guards)
            self.frames = [*outer_frames, (loop, step, self.step_guards)]
            self.loop, self.step = loop, step
            self.local = {**outer_local, **{name: self.versions[name] for name in updated}}
            first = len(self.nodes)
            names: list[str] = []
            for stmt in item.body:
                if isinstance(stmt, ast.NodeDecl):
                    self.local[stmt.name.name] = self._expr(
                        stmt.value, stmt.name.name, self.typing.values.get(stmt.name.name)
                    )
                    names.append(stmt.name.name)
                elif isinstance(stmt, OrderedLoop):
                    inner = self._loop(stmt)
                    self.local.update(inner)
                    names += inner
            for stmt in item.body:
                if isinstance(stmt, ast.Assign):
                    self.versions[stmt.name.name] = self._expr(
                        stmt.value, stmt.name.name, self.typing.values.get(stmt.name.name)
                    )
            if step == decl.start:
                body_names = [n.name for n in self.nodes[first:] if n.loop == loop]
            after = {name: self.local[name] for name in names}
            after.update({name: self.versions[name] for name in updated})
            if decl.until is not None:
                done = self._until(decl)
                dones.append(done or "")
                for name, value in after.items():
                    steps.setdefault(name, []).append(value)
        self.frames = outer_frames
        self.loop, self.step = (outer_frames[-1][0], outer_frames[-1][1]) if outer_frames else (
            None, None)
        self.local, self.guards, self.step_guards = outer_local, list(outer_guards), outer_guards
        until = None if decl.until is None else (
            decl.until.name if isinstance(decl.until, ast.Ref) else f"{loop}.until")
        if loop not in self.recorded:  # a nested loop: once, not once per outer step
            self.recorded.add(loop)
            self.loops.append(LoopInfo(loop, decl.end - decl.start, tuple(body_names), decl.span,
                                       until, outer_frames[-1][0] if outer_frames else None))
        if decl.until is None:
            return after
        # after an early exit: the step the loop stopped at, through a `last` node made
        # when a name is first read (at the top level, the last step's id stays `final`)
        lasts = {}
        for name, ids in steps.items():
            last_id = self._id(f"{name}.last")
            self.pending[last_id] = PendingLast(name, tuple(ids), tuple(dones), decl.span,
                                             self.step, self.loop, self.step_guards)
            lasts[name] = last_id
        if outer_frames:  # the loop runs again in the next outer step, from where it stopped
            self.versions.update({name: lasts[name] for name in updated})
            return lasts
        self.lasts.update(lasts)
        return after

    def _until(self, decl: ast.LoopDecl) -> str | None:
        """The id of this step's stop condition: the named body node, or the nodes of a
        condition (stem `LOOP.until`), where states read this step's update."""
        assert decl.until is not None
        if isinstance(decl.until, ast.Ref):
            return self._made(self.local[decl.until.name]) if decl.until.name in self.local else None
        for stmt in decl.body:
            if isinstance(stmt, ast.Assign):
                self.local[stmt.name.name] = self.versions[stmt.name.name]
        return self._expr(decl.until, f"{decl.name.name}.until", T.BOOL)

    # --- values ---------------------------------------------------------------
    def _id(self, stem: str) -> str:
        if not self.frames:
            return stem
        return f"{stem}@" + ".".join(str(step) for _, step, _ in self.frames)

    def _state_value(self, name: str) -> str:
        if name in self.final:
            return self.final[name]
        if name not in self.state_init:
            self.state_init.add(name)
            decl = self.scope.symbols[name].decl
            assert isinstance(decl, ast.StateDecl)
            self._push(
                Node(
                    id=name,
                    kind="const",
                    name=name,
                    step=None,
                    loop=None,
                    inputs=(),
                    output_type=self.typing.values.get(name) or T.ANY,
                    span=decl.init.span,
                    value_json=canonical_json(T.literal_value(decl.init)),
                )
            )
        return name

    def _ref(self, name: str) -> str:
        if name in self.local:
            return self._made(self.local[name])
        if name in self.lasts:
            self.final[name] = self._made(self.lasts.pop(name))
            return self.final[name]
        symbol = self.scope.symbols[name]
        if symbol.kind == "loopvar":  # the step of its loop, made once per step
            depth = next(i for i, (loop, _, _) in enumerate(self.frames) if loop == name)
            loop, step, guards = self.frames[depth]
            node_id = f"{name}@" + ".".join(str(s) for _, s, _ in self.frames[:depth + 1])
            if node_id not in self.types:
                node = Node(node_id, "const", name, step, loop, (), T.INT,
                            symbol.decl.name.span, value_json=canonical_json(step))
                self._push(replace(node, when=guards) if guards else node)
            self.local[name] = node_id
            return node_id
        if symbol.kind == "state" and name not in self.final:
            return self._state_value(name)
        return self._made(self.final[name])

    def _expr(self, expr: ast.Expr, stem: str, want: Type | None) -> str:
        """Create the nodes for `expr`; the outermost gets the id stem `stem`."""
        match expr:
            case ast.Ref(name=name):
                return self._ref(name)
            case ast.Call():
                return self._call(expr, stem)
            case ast.Add():
                return self._add(expr, stem, want)
            case ast.FieldAccess():
                return self._field(expr, stem)
            case ast.IfExpr():
                branches = ((("true",), expr.then), (("false",), expr.other))
                return self._select(expr.cond, branches, stem, want, expr.span)
            case ast.MatchExpr():
                return self._match(expr, stem, want)
            case ast.MapExpr():
                return self._map(expr, stem)
            case ast.Compare():
                return self._operator(OPERATORS[expr.op], (expr.left, expr.right), stem, expr.span)
            case ast.BoolOp():
                return self._operator(OPERATORS[expr.op], expr.terms, stem, expr.span)
            case ast.Not():
                return self._operator(OPERATORS["not"], (expr.value,), stem, expr.span)
            case ast.ListLit() if T.literal_type(expr) is None:
                return self._build_list(expr, stem)
            case _:
                literal = T.literal_type(expr) or T.ANY
                if (
                    want is not None
                    and literal.kind == "list"
                    and literal.of == T.ANY
                    and want.kind == "list"
                ):
                    literal = want
                node_id = self._id(stem)
                self._append(
                    Node(
                        node_id,
                        "const",
                        stem,
                        self.step,
                        self.loop,
                        (),
                        literal,
                        expr.span,
                        value_json=canonical_json(T.literal_value(expr)),
                    )
                )
                return node_id

    def _call(self, call: ast.Call, stem: str) -> str:
        sig = self.typing.functions[call.func.name]
        names = tuple(n for n, _ in sig.params)
        want = dict(sig.params)
        bound, _ = bind_args(call.args, names)
        bindings = []
        for name, arg in bound:
            source = self._expr(arg.value, f"{stem}.{names.index(name)}", want[name])
            bindings.append(Binding(name, source))
        node_id = self._id(stem)
        returns = sig.returns or T.ANY
        if call.func.name in self.llms:
            spec = self.specs.get(call.func.name)
            if spec is None:
                decl = self.llms[call.func.name]
                parts = {s.name.name: _parts(s) for s in decl.sections}
                spec = LlmSpec(
                    call.func.name,
                    self.scope.llm_models[call.func.name],
                    parts.get("system", ()),
                    parts.get("user", ()),
                    plan_options(decl.model_options),
                    tool_specs(decl, self.scope, self.typing),
                )
                self.specs[call.func.name] = spec
            self._append(
                Node(
                    node_id,
                    "llm",
                    stem,
                    self.step,
                    self.loop,
                    tuple(bindings),
                    returns,
                    call.span,
                    llm=spec,
                )
            )
        else:
            fn = self.fns[call.func.name]
            self._append(
                Node(
                    node_id,
                    "fn",
                    stem,
                    self.step,
                    self.loop,
                    tuple(bindings),
                    returns,
                    call.span,
                    fn=FnSpec(call.func.name, fn_ref(fn.target)),
                )
            )
        return node_id

    def _field(self, expr: ast.FieldAccess, stem: str) -> str:
        """`record.name`: a `field` node reading one field of its one input."""
        source = self._expr(expr.value, f"{stem}.0", None)
        found = T.field_type(self._type_of(source), expr.field.name)
        node_id = self._id(stem)
        self._append(
            Node(node_id, "field", stem, self.step, self.loop, (Binding("record", source),),
                 found or T.ANY, expr.span, field=expr.field.name)
        )
        return node_id

    def _made(self, source: str) -> str:
        """`source`, after making it when it is a `last` node not made yet: the node
        `NAME.last` (`NAME.last@T` inside an outer loop's step) over a value's copies in
        an `until` loop: `stepI` reads the value at step I, `untilI` the condition
        computed in that step."""
        pending = self.pending.pop(source, None)
        if pending is None:
            return source
        ids = tuple(self._made(i) for i in pending.ids)
        bindings = tuple(Binding(f"step{i}", s) for i, s in enumerate(ids))
        bindings += tuple(Binding(f"until{i}", d) for i, d in enumerate(pending.dones) if d)
        node = Node(source, "last", pending.name, pending.step, pending.loop, bindings,
                    self._type_of(ids[-1]) or T.ANY, pending.span)
        self._push(replace(node, when=pending.guards) if pending.guards else node)
        return source

    def _map(self, expr: ast.MapExpr, stem: str) -> str:
        """One guarded copy of the body per item the bound allows, then the `map` node."""
        items = self._expr(expr.items, f"{stem}.0", None)
        found = self._type_of(items)
        element = found.of if found is not None and found.kind == "list" and found.of else T.ANY
        bindings = [Binding("items", items)]
        result: Type | None = None
        outer = self.item
        for i in range(map_bound(expr, self.scope) or 0):
            self.item = i
            item_stem = f"{stem}#{i}.item"
            item_id = self._id(item_stem)
            self._append(Node(item_id, "item", item_stem, self.step, self.loop,
                              (Binding("items", items),), element, expr.item.span, item=i))
            self.local[expr.item.name] = item_id
            self.guards.append(Guard(item_id, ()))
            try:
                source = self._expr(expr.body, f"{stem}#{i}", None)
            finally:
                self.guards.pop()
            bindings.append(Binding(f"item{i}", source))
            result = result or self._type_of(source)
        self.item = outer
        self.local.pop(expr.item.name, None)
        node_id = self._id(stem)
        self._append(Node(node_id, "map", stem, self.step, self.loop, tuple(bindings),
                          T.list_of(result or T.ANY), expr.span))
        return node_id

    def _match(self, expr: ast.MatchExpr, stem: str, want: Type | None) -> str:
        cond = self._expr(expr.subject, f"{stem}.0", None)
        named = [arm.label.name for arm in expr.arms if arm.label.name != WILDCARD]
        cond_type = self._type_of(cond)
        rest = tuple(v for v in (labels(cond_type) if cond_type else ()) if v not in named)
        branches = tuple(
            ((rest if arm.label.name == WILDCARD else (arm.label.name,)), arm.value)
            for arm in expr.arms
        )
        return self._select_from(cond, branches, stem, want, expr.span,
                                 tuple(arm.label.name for arm in expr.arms))

    def _select(
        self, cond_expr: ast.Expr, branches: tuple[tuple[tuple[str, ...], ast.Expr], ...],
        stem: str, want: Type | None, span: Span,
    ) -> str:
        cond = self._expr(cond_expr, f"{stem}.0", T.BOOL)
        return self._select_from(cond, branches, stem, want, span, tuple(c[0] for c, _ in branches))

    def _select_from(
        self, cond: str, branches: tuple[tuple[tuple[str, ...], ast.Expr], ...], stem: str,
        want: Type | None, span: Span, names: tuple[str, ...],
    ) -> str:
        """The branches' nodes, each guarded by its cases, then the `select` node."""
        bindings = [Binding("cond", cond)]
        types: list[Type | None] = []
        for i, ((cases, value), name) in enumerate(zip(branches, names, strict=True)):
            self.guards.append(Guard(cond, cases))
            try:
                source = self._expr(value, f"{stem}.{i + 1}", want)
            finally:
                self.guards.pop()
            bindings.append(Binding(f"case:{name}", source))
            types.append(self._type_of(source))
        out: Type | None = types[0]
        for found in types[1:]:
            joined = join(out, found)
            out = joined if isinstance(joined, Type) else None
        node_id = self._id(stem)
        self._append(Node(node_id, "select", stem, self.step, self.loop, tuple(bindings),
                          want or out or T.ANY, span))
        return node_id

    def _build_list(self, expr: ast.ListLit, stem: str) -> str:
        """`[a, "b"]` with computed items: `[]` then one `std.op.append` per item."""
        list_type = T.list_of(T.STR)
        acc = self._id(f"{stem}.empty")
        self._append(
            Node(
                acc,
                "const",
                f"{stem}.empty",
                self.step,
                self.loop,
                (),
                list_type,
                expr.span,
                value_json="[]",
            )
        )
        for i, item in enumerate(expr.items):
            source = self._expr(item, f"{stem}.{i}", T.STR)
            node_stem = stem if i == len(expr.items) - 1 else f"{stem}.append{i}"
            bindings = (Binding("items", acc), Binding("item", source))
            acc = self._builtin(node_stem, "std.op.append", bindings, list_type, item.span)
        return acc

    def _operator(self, ref: str, operands: tuple[ast.Expr, ...], stem: str, span: Span) -> str:
        """A comparison, `not x`, or a chain `a and b and c` (partial results `OWNER.andI`)."""
        if len(operands) == 1:
            value = self._expr(operands[0], f"{stem}.0", T.BOOL)
            return self._builtin(stem, ref, (Binding("value", value),), T.BOOL, span)
        acc = self._expr(operands[0], f"{stem}.0", None)
        for i in range(1, len(operands)):
            right = self._expr(operands[i], f"{stem}.{i}", self._type_of(acc))
            node_stem = stem if i == len(operands) - 1 else f"{stem}.{ref.rsplit('.', 1)[1]}{i}"
            bindings = (Binding("left", acc), Binding("right", right))
            acc = self._builtin(node_stem, ref, bindings, T.BOOL, span)
        return acc

    def _add(self, expr: ast.Add, stem: str, want: Type | None) -> str:
        terms = expr.terms
        acc = self._expr(terms[0], f"{stem}.0", want)
        acc_type = self._type_of(acc)
        for i in range(1, len(terms)):
            right = self._expr(terms[i], f"{stem}.{i}", acc_type)
            result = T.add_result(acc_type, self._type_of(right))
            out_type = result if isinstance(result, Type) else T.ANY
            node_stem = stem if i == len(terms) - 1 else f"{stem}.sum{i}"
            term_span = terms[i].span
            span = replace(expr.span, end_line=term_span.end_line, end_col=term_span.end_col)
            bindings = (Binding("left", acc), Binding("right", right))
            acc = self._builtin(node_stem, "std.op.add", bindings, out_type, span)
            acc_type = out_type
        return acc

    def _builtin(
        self, stem: str, ref: str, bindings: tuple[Binding, ...], type_: Type, span: Span
    ) -> str:
        """Append a call of the stdlib operator `ref` that the source wrote as syntax."""
        node_id = self._id(stem)
        self._append(
            Node(node_id, "fn", stem, self.step, self.loop, bindings, type_, span,
                 fn=FnSpec(ref, ref))
        )
        return node_id

    def _append(self, node: Node) -> None:
        if self.guards:
            node = replace(node, when=tuple(self.guards))
        if self.item is not None and node.item is None:
            node = replace(node, item=self.item)
        self._push(node)

    def _push(self, node: Node) -> None:
        self.nodes.append(node)
        self.types[node.id] = node.output_type

    def _type_of(self, source: str) -> Type | None:
        if source in self.types:
            return self.types[source]
        return self.typing.values.get(source.split("@", 1)[0])


def _parts(section: ast.Section) -> tuple[TemplatePart, ...]:
    parts = []
    for part in section.parts:
        if isinstance(part, ast.Ref):
            parts.append(TemplatePart("param", param=part.name))
        else:
            parts.append(TemplatePart("text", text=part.value))
    return tuple(parts)
