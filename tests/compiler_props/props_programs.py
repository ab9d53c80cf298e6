"""Generated well-formed `.adf` programs and what their plans must contain.

Takes hypothesis draws; gives `GenProgram`: source text that must compile
without errors, plus an independent model of the unrolled plan built from
the documented node-id scheme (`adf.compiler.unroll`): every node id with its
kind and its bindings `(argument, source id)`, the node count outside loops
and each loop's nodes per step.

The programs are random DAGs of llm and fn calls (nested calls, `+` chains,
list literals with computed items, literals as arguments, bare-name aliases)
plus bounded loops (1-4 steps, any start) whose bodies read inputs, earlier
nodes, earlier loops' results and states, and update str, list[str] and int
states (the int counter reads the loop variable). Parameters are prompts,
frozen or trainable, with or without a description, shared by the llms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

# An expression: ("ref", name) | ("lit", text) | ("int", n) | ("call", func, [args])
#              | ("add", [terms]) | ("list", [items])
Expr = tuple[Any, ...]
Expected = dict[str, tuple[str, tuple[tuple[str, str], ...]]]

# fn name -> (std entry, parameters with types, result type)
FNS: dict[str, tuple[str, tuple[tuple[str, str], ...], str]] = {
    "strip": ("std.parse.strip", (("text", "str"),), "str"),
    "first": ("std.parse.first_line", (("text", "str"),), "str"),
    "lines": ("std.text.lines", (("text", "str"),), "list[str]"),
    "join": ("std.text.join", (("items", "list[str]"),), "str"),
}


@dataclass
class Loop:
    name: str
    var: str
    start: int
    bound: int
    body: list[tuple[str, str, Expr]] = field(default_factory=list)  # ("node"|"set", name, expr)


@dataclass
class GenProgram:
    source: str
    expected: Expected
    outside: int
    per_step: dict[str, int]
    bounds: dict[str, int]
    carried: list[tuple[str, str, int, int]]  # (loop, state, start, end) for `s = s + ...` updates
    output: str
    output_id: str  # the id the output name finally stands for
    params: dict[str, tuple[bool, str, str]]  # name -> (frozen, description, value)


def _lit(draw: st.DrawFn) -> Expr:
    words = draw(st.lists(st.sampled_from(["alpha", "beta", "x", "é", "line\n", "tab\t", '"q"']), min_size=0, max_size=3))
    return ("lit", " ".join(words))


class _Builder:
    """Draws the program statement by statement, keeping track of what each name is."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw
        self.llms: dict[str, int] = {}  # llm name -> arity
        self.str_values: list[str] = ["q"]
        self.list_values: list[str] = []

    def str_expr(self, depth: int, strs: list[str], lists: list[str], allow_lit: bool = True) -> Expr:
        draw = self.draw
        choices = ["ref", "call"]
        if depth > 0:
            choices += ["call", "add", "join"]
        if allow_lit:
            choices.append("lit")
        kind = draw(st.sampled_from(choices))
        if kind == "join" and not lists:
            kind = "call"
        if kind == "ref":
            return ("ref", draw(st.sampled_from(strs)))
        if kind == "lit":
            return _lit(draw)
        if kind == "join":
            return ("call", "join", [self.list_expr(depth - 1, strs, lists)])
        if kind == "add":
            n = draw(st.integers(2, 3))
            return ("add", [self.add_term(depth - 1, strs, lists) for _ in range(n)])
        return self.call(depth, strs, lists)

    def add_term(self, depth: int, strs: list[str], lists: list[str]) -> Expr:
        kind = self.draw(st.sampled_from(["ref", "lit", "call"]))
        if kind == "ref":
            return ("ref", self.draw(st.sampled_from(strs)))
        if kind == "lit":
            return _lit(self.draw)
        return self.call(max(depth, 0), strs, lists)

    def call(self, depth: int, strs: list[str], lists: list[str]) -> Expr:
        draw = self.draw
        func = draw(st.sampled_from([*sorted(self.llms), "strip", "first"]))
        arity = self.llms.get(func, 1)
        args = [self.str_expr(depth - 1, strs, lists) for _ in range(arity)]
        return ("call", func, args)

    def list_expr(self, depth: int, strs: list[str], lists: list[str]) -> Expr:
        draw = self.draw
        kind = draw(st.sampled_from(["ref", "lines", "list"]))
        if kind == "ref" and lists:
            return ("ref", draw(st.sampled_from(lists)))
        if kind == "list":
            items = [
                draw(st.sampled_from([("ref", draw(st.sampled_from(strs))), self.call(0, strs, lists)]))
                for _ in range(draw(st.integers(1, 3)))
            ]
            return ("list", items)
        return ("call", "lines", [self.str_expr(max(depth - 1, 0), strs, lists)])


@st.composite
def programs(draw: st.DrawFn) -> GenProgram:
    b = _Builder(draw)
    lines = ['model m = "local" { temperature: 0, max_tokens: 64 }', "input q: str", "target t: str"]
    n_params = draw(st.integers(0, 3))
    params = [f"p{i}" for i in range(n_params)]
    param_info: dict[str, tuple[bool, str, str]] = {}
    for p in params:
        modifier = draw(st.sampled_from(["", " frozen", " trainable"]))
        desc = draw(st.sampled_from(["", f"what {p} does"]))
        written_desc = f" {json.dumps(desc)}" if desc else ""
        if draw(st.booleans()):
            value = f'Line one of {p}.\nLine "two".\n'
            lines.append(f'param {p}: prompt{modifier}{written_desc} = """{value}"""')
        else:
            value = f"text of {p} \u00e9"
            lines.append(f"param {p}: prompt{modifier}{written_desc} = {json.dumps(value)}")
        param_info[p] = (modifier == " frozen", desc, value)
    for i in range(draw(st.integers(1, 3))):
        arity = draw(st.integers(1, 3))
        name = f"ask{i}"
        b.llms[name] = arity
        args = ", ".join(f"a{k}: str" for k in range(arity))
        system = draw(st.lists(st.sampled_from([*params, '"be brief"']), max_size=3, unique=True)) if params else ['"be brief"']
        user = " ".join(f"{{a{k}}}" for k in range(arity))
        lines.append(f"llm {name}({args}) -> str using m {{")
        lines.append(f"  system: [{', '.join(system)}]")
        lines.append(f'  user: "Q: {user}"')
        lines.append("}")
    for name, (ref, params_, result) in FNS.items():
        args = ", ".join(f"{p}: {t}" for p, t in params_)
        lines.append(f"fn {name}({args}) -> {result} = {ref}")

    statements: list[tuple[str, str, Expr] | Loop] = []
    states: dict[str, tuple[str, Expr]] = {}  # name -> (type, init)
    strs = ["q"]
    lists: list[str] = []
    counter = 0
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 2)) == 0:
            j = len([s for s in statements if isinstance(s, Loop)])
            start = draw(st.integers(0, 3))
            loop = Loop(f"L{j}", f"L{j}", start, draw(st.integers(1, 4)))
            local_strs = list(strs)
            local_lists = list(lists)
            new_states: list[tuple[str, str]] = []
            for k in range(draw(st.integers(0, 2))):
                sname = f"s{j}_{k}"
                stype = draw(st.sampled_from(["str", "list[str]", "int"]))
                init: Expr = {"str": ("lit", ""), "list[str]": ("list0",), "int": ("int", 0)}[stype]
                states[sname] = (stype, init)
                new_states.append((sname, stype))
                if stype == "str":
                    local_strs.append(sname)
                elif stype == "list[str]":
                    local_lists.append(sname)
            body_names = []
            for k in range(draw(st.integers(1, 3))):
                nname = f"b{j}_{k}"
                expr = b.call(draw(st.integers(1, 2)), local_strs, local_lists)
                loop.body.append(("node", nname, expr))
                local_strs.append(nname)
                body_names.append(nname)
            for sname, stype in new_states:
                if stype == "int":
                    update: Expr = ("add", [("ref", sname), ("ref", loop.var)])
                elif stype == "str":
                    update = ("add", [("ref", sname), b.add_term(1, local_strs, local_lists)])
                elif draw(st.booleans()):
                    update = ("add", [("ref", sname), b.list_expr(1, local_strs, local_lists)])
                else:
                    update = ("call", "lines", [("call", "join", [("ref", sname)])])
                loop.body.append(("set", sname, update))
            statements.append(loop)
            strs += body_names + [s for s, t in new_states if t == "str"]
            lists += [s for s, t in new_states if t == "list[str]"]
        else:
            name = f"n{counter}"
            counter += 1
            if counter > 1 and draw(st.integers(0, 5)) == 0:
                expr = ("ref", draw(st.sampled_from(strs)))
            elif draw(st.booleans()):
                expr = b.call(draw(st.integers(1, 3)), strs, lists)
            else:
                expr = ("add", [b.add_term(1, strs, lists) for _ in range(draw(st.integers(2, 3)))])
            statements.append(("node", name, expr))
            strs.append(name)
    output = draw(st.sampled_from(strs))
    for sname, (stype, init) in states.items():
        lines.append(f"state {sname}: {stype} = {render(init)}")
    for stmt in statements:
        if isinstance(stmt, Loop):
            lines.append(f"loop {stmt.name} in {stmt.start}..{stmt.start + stmt.bound} {{")
            for kind, name, expr in stmt.body:
                prefix = "node " if kind == "node" else ""
                lines.append(f"  {prefix}{name} = {render(expr)}")
            lines.append("}")
        else:
            lines.append(f"node {stmt[1]} = {render(stmt[2])}")
    lines.append(f"loss acc = std.loss.exact_match({output}, t)")
    lines.append(f"output {output}")
    source = "# generated\n" + "\n".join(lines) + "\n"
    model = _Model(b.llms, states)
    model.run(statements)
    carried = [
        (s.name, name, s.start, s.start + s.bound)
        for s in statements
        if isinstance(s, Loop)
        for kind, name, expr in s.body
        if kind == "set" and expr[0] == "add" and expr[1][0] == ("ref", name)
    ]
    bounds = {s.name: s.bound for s in statements if isinstance(s, Loop)}
    return GenProgram(
        source, model.expected, model.outside, model.per_step, bounds, carried, output, model.final[output], param_info
    )


def render(expr: Expr) -> str:
    match expr[0]:
        case "ref":
            return str(expr[1])
        case "lit":
            return json.dumps(expr[1], ensure_ascii=False)
        case "int":
            return str(expr[1])
        case "list0":
            return "[]"
        case "call":
            return f"{expr[1]}({', '.join(render(a) for a in expr[2])})"
        case "add":
            return " + ".join(render(t) for t in expr[1])
        case "list":
            return "[" + ", ".join(render(i) for i in expr[1]) + "]"
    raise AssertionError(expr)


class _Model:
    """Evaluates the generated statements the way the documented unrolling does."""

    def __init__(self, llms: dict[str, int], states: dict[str, tuple[str, Expr]]):
        self.llms = llms
        self.states = states
        self.expected: Expected = {}
        self.final: dict[str, str] = {"q": "q", "t": "t"}
        self.local: dict[str, str] = {}
        self.step: int | None = None
        self.loopvar: tuple[str, str] | None = None  # (var, loop)
        self.outside = 0
        self.per_step: dict[str, int] = {}

    def add(self, node_id: str, kind: str, bindings: tuple[tuple[str, str], ...]) -> None:
        assert node_id not in self.expected, node_id
        self.expected[node_id] = (kind, bindings)

    def id(self, stem: str) -> str:
        return stem if self.step is None else f"{stem}@{self.step}"

    def run(self, statements: list[Any]) -> None:
        for sname in self.states:
            self.add(sname, "const", ())  # every state gets its initial-value node
            self.final[sname] = sname
        self.outside = len(self.states)
        for stmt in statements:
            if isinstance(stmt, Loop):
                self.loop(stmt)
            else:
                before = len(self.expected)
                self.final[stmt[1]] = self.expr(stmt[2], stmt[1])
                self.outside += len(self.expected) - before

    def loop(self, loop: Loop) -> None:
        versions = {name: self.final[name] for kind, name, _ in loop.body if kind == "set"}
        for step in range(loop.start, loop.start + loop.bound):
            before = len(self.expected)
            self.step, self.local = step, dict(versions)
            self.loopvar = (loop.var, loop.name)
            for kind, name, expr in loop.body:
                if kind == "node":
                    self.local[name] = self.expr(expr, name)
            for kind, name, expr in loop.body:
                if kind == "set":
                    versions[name] = self.expr(expr, name)
            for kind, name, _ in loop.body:
                if kind == "node":
                    self.final[name] = self.local[name]
            count = len(self.expected) - before
            assert self.per_step.setdefault(loop.name, count) == count
        self.final.update(versions)
        self.step, self.local, self.loopvar = None, {}, None

    def ref(self, name: str) -> str:
        if name in self.local:
            return self.local[name]
        if self.loopvar is not None and name == self.loopvar[0]:
            node_id = self.id(name)
            self.add(node_id, "const", ())
            self.local[name] = node_id
            return node_id
        return self.final[name]

    def expr(self, expr: Expr, stem: str) -> str:
        match expr[0]:
            case "ref":
                return self.ref(expr[1])
            case "call":
                func, args = expr[1], expr[2]
                if func in self.llms:
                    names = [f"a{k}" for k in range(self.llms[func])]
                    kind = "llm"
                else:
                    names = [p for p, _ in FNS[func][1]]
                    kind = "fn"
                bindings = tuple(
                    (names[i], self.expr(arg, f"{stem}.{i}")) for i, arg in enumerate(args)
                )
                node_id = self.id(stem)
                self.add(node_id, kind, bindings)
                return node_id
            case "add":
                terms = expr[1]
                acc = self.expr(terms[0], f"{stem}.0")
                for i in range(1, len(terms)):
                    right = self.expr(terms[i], f"{stem}.{i}")
                    node_id = self.id(stem if i == len(terms) - 1 else f"{stem}.sum{i}")
                    self.add(node_id, "fn", (("left", acc), ("right", right)))
                    acc = node_id
                return acc
            case "list":
                acc = self.id(f"{stem}.empty")
                self.add(acc, "const", ())
                items = expr[1]
                for i, item in enumerate(items):
                    source = self.expr(item, f"{stem}.{i}")
                    node_id = self.id(stem if i == len(items) - 1 else f"{stem}.append{i}")
                    self.add(node_id, "fn", (("items", acc), ("item", source)))
                    acc = node_id
                return acc
            case _:  # a literal
                node_id = self.id(stem)
                self.add(node_id, "const", ())
                return node_id
