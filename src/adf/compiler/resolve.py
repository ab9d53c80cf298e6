"""Name resolution: the first pass after parsing.

Takes a `Program`; gives a `Scope` (every declared name with its kind and
declaration) and diagnostics E01xx: duplicate declarations, undefined
names, a name of the wrong kind (calling a param, using a model as a value,
listing a node in an llm's system prompt), unknown `std.*` entries, llm
sections, and W0101 when an argument hides a declaration.

All names live in one namespace. Top-level declarations are order-free (a
node may use a node declared below it); the graph pass orders them. A loop
variable is visible only inside its loop. Later passes treat any name this
pass rejected as unknown and stay silent about it, so one mistake gives one
error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adf.compiler.records import Scope as Scope
from adf.compiler.records import Symbol as Symbol
from adf.compiler.records import SymbolKind as SymbolKind
from adf.compiler.report import diag, suggest, summarise
from adf.diagnostics import Diagnostic, Label, Span
from adf.stdlib.signatures import FUNCTIONS, METRICS
from adf.syntax import ast
from adf.syntax.ast import loop_statements, nested_loops

VALUE_KINDS = frozenset({"input", "target", "node", "state", "loopvar", "item"})
SECTIONS = ("system", "user", "finish")  # `finish` lists tools (adf.compiler.tools)
ROLES = ("backward", "optimizer", "teacher")


_WHAT = {
    "model": "a model",
    "param": "a param",
    "input": "an input",
    "target": "a target",
    "llm": "an llm function",
    "fn": "a function",
    "node": "a node",
    "state": "a state",
    "loopvar": "a loop variable",
    "loss": "a loss",
    "const": "a constant",
    "item": "a map item",
    "use": "a used file",
}


def resolve(program: ast.Program) -> tuple[Scope, tuple[Diagnostic, ...]]:
    diags: list[Diagnostic] = []
    symbols: dict[str, Symbol] = {}
    duplicated: set[str] = set()
    parents: dict[str, str] = {}

    def declare(ident: ast.Ident, kind: SymbolKind, decl: Any, loop: str | None = None) -> None:
        previous = symbols.get(ident.name)
        if previous is not None:
            diags.append(
                diag(
                    "E0101",
                    f"`{ident.name}` is declared more than once",
                    ident.span,
                    f"{_WHAT[kind]} named `{ident.name}` again",
                    secondary=[
                        Label(previous.span, f"first declared here as {_WHAT[previous.kind]}")
                    ],
                    help="rename one of them; every declaration needs its own name",
                )
            )
            duplicated.add(ident.name)
            return
        symbols[ident.name] = Symbol(ident.name, kind, ident.span, decl, loop)

    for decl in program.decls:
        match decl:
            case ast.UseDecl():
                declare(decl.alias, "use", decl)
            case ast.ModelDecl():
                declare(decl.name, "model", decl)
            case ast.ParamDecl():
                declare(decl.name, "param", decl)
            case ast.DataDecl():
                declare(decl.name, decl.role, decl)
            case ast.LlmDecl():
                declare(decl.name, "llm", decl)
            case ast.FnDecl():
                declare(decl.name, "fn", decl)
            case ast.NodeDecl():
                declare(decl.name, "node", decl)
            case ast.StateDecl():
                declare(decl.name, "state", decl)
            case ast.LoopDecl():
                declare(decl.name, "loopvar", decl, decl.name.name)
                for owner, stmt in loop_statements(decl):
                    if isinstance(stmt, ast.NodeDecl):
                        declare(stmt.name, "node", stmt, owner.name.name)
                    elif isinstance(stmt, ast.LoopDecl):
                        fresh = stmt.name.name not in symbols  # so `parents` has no cycle
                        declare(stmt.name, "loopvar", stmt, stmt.name.name)
                        if fresh:
                            parents[stmt.name.name] = owner.name.name
            case ast.LossDecl() | ast.ObjectiveDecl():
                declare(decl.name, "loss", decl)
            case ast.ConstDecl():
                declare(decl.name, "const", decl)
            case _:
                pass
        for expr, loop in expressions(decl):
            for found in _walk(expr):
                if isinstance(found, ast.MapExpr):
                    declare(found.item, "item", found, loop)
    scope = Scope(symbols, {}, parents)
    checker = _Checker(scope, diags, frozenset(duplicated))
    llm_models = checker.check(program)
    return Scope(symbols, llm_models, parents), tuple(diags)


class _Checker:
    def __init__(self, scope: Scope, diags: list[Diagnostic], duplicated: frozenset[str]):
        self.scope = scope
        self.symbols = scope.symbols
        self.diags = diags
        self.duplicated = duplicated  # names E0101 reported: their uses give no second error
        self.models = [s.name for s in self.symbols.values() if s.kind == "model"]

    def check(self, program: ast.Program) -> dict[str, str]:
        llm_models: dict[str, str] = {}
        outputs: dict[str, ast.OutputDecl] = {}
        train: ast.TrainDecl | None = None
        for decl in program.decls:
            match decl:
                case ast.TrainDecl():
                    if train is not None:
                        self.diags.append(
                            diag(
                                "E0101",
                                "the `train` block is given more than once",
                                Span(
                                    decl.span.line, decl.span.col, decl.span.line, decl.span.col + 5
                                ),
                                "second `train` block",
                                secondary=[
                                    Label(
                                        Span(
                                            train.span.line,
                                            train.span.col,
                                            train.span.line,
                                            train.span.col + 5,
                                        ),
                                        "first given here",
                                    )
                                ],
                                help="merge the two blocks into one",
                            )
                        )
                    train = decl
                    self._train(decl)
                case ast.LlmDecl():
                    model = self._llm(decl)
                    if model is not None:
                        llm_models[decl.name.name] = model
                case ast.FnDecl():
                    self._signature(decl.params)
                    if isinstance(decl.target, ast.StdRef):
                        self._std(decl.target, FUNCTIONS, "function")
                case ast.NodeDecl():
                    self._expr(decl.value, None)
                case ast.StateDecl():
                    self._expr(decl.init, None)
                case ast.Assign():
                    self._assign(decl, None)
                case ast.LoopDecl():
                    for loop, stmt in loop_statements(decl):
                        if isinstance(stmt, ast.NodeDecl):
                            self._expr(stmt.value, loop.name.name)
                        elif isinstance(stmt, ast.Assign):
                            self._assign(stmt, loop.name.name)
                    for loop in nested_loops(decl):
                        if loop.until is not None and not isinstance(loop.until, ast.Ref):
                            self._expr(loop.until, loop.name.name)  # a bare name: E0307's job
                case ast.LossDecl():
                    if isinstance(decl.metric, ast.StdRef):
                        self._std(decl.metric, METRICS, "metric")
                    for arg in decl.args:
                        if arg.name is None:
                            self._expr(arg.value, None)
                case ast.OutputDecl():
                    name = decl.name.name
                    if name in outputs:
                        self.diags.append(
                            diag(
                                "E0101",
                                f"`{name}` is declared as an output more than once",
                                decl.name.span,
                                "output again",
                                secondary=[Label(outputs[name].name.span, "first output here")],
                                help="remove the repeated `output` line",
                            )
                        )
                    else:
                        outputs[name] = decl
                        self._value(name, decl.name.span, None)
                case _:
                    pass
        return llm_models

    # --- names used as values ------------------------------------------------
    def _value(
        self, name: str, span: Span, loop: str | None, items: frozenset[str] = frozenset()
    ) -> None:
        symbol = self.symbols.get(name)
        if symbol is None:
            self._undefined(name, span, "value")
            return
        if symbol.kind == "item" and name not in items:
            self.diags.append(diag(
                "E0102", f"undefined name `{name}`", span, "not defined here",
                secondary=[Label(symbol.span, "a map item, visible only after `=>` in its `map`")],
                help="use the item inside the body of its `map`",
            ))
            return
        if symbol.kind == "loopvar" and not self.scope.inside(loop, symbol.loop):
            self.diags.append(
                diag(
                    "E0102",
                    f"undefined name `{name}`",
                    span,
                    "not defined here",
                    secondary=[Label(symbol.span, "a loop variable, visible only inside its loop "
                                     "(and the loops nested in it)")],
                    help="use the loop variable inside the loop's body",
                )
            )
            return
        if symbol.kind in VALUE_KINDS or name in self.duplicated:
            return
        help_ = {
            "param": "params are text for llm prompts; list it in an llm's `system:` or `user:`",
            "llm": f"call it: `{name}(...)`",
            "fn": f"call it: `{name}(...)`",
            "model": "models are named by `using` in an llm declaration",
            "loss": "losses are scores for training; they cannot feed other nodes",
            "const": "constants are loop bounds: `loop hop in 0..NAME { ... }`",
            "use": f"call one of its functions, `{name}.NAME(...)`, or its whole workflow: "
                   f"`node result = {name}(...)`",
        }.get(symbol.kind, "")
        self.diags.append(
            diag(
                "E0104",
                f"expected a value, found {_WHAT[symbol.kind]} `{name}`",
                span,
                f"{_WHAT[symbol.kind]}, not a value",
                secondary=[Label(symbol.span, "declared here")],
                help=help_,
            )
        )

    def _undefined(
        self, name: str, span: Span, what: str, kinds: frozenset[str] | None = None
    ) -> None:
        pool = [s.name for s in self.symbols.values() if kinds is None or s.kind in kinds]
        self.diags.append(
            diag(
                "E0102",
                f"undefined name `{name}`",
                span,
                f"no {what} named `{name}`",
                help=suggest(name, pool)
                or f"nothing in this file declares `{name}` (declarations may come in any order): declare it, or fix the name",
            )
        )

    def _expr(self, expr: ast.Expr, loop: str | None) -> None:
        inside = {id(n): item for n, item in map_bodies(expr)}
        for node in _walk(expr):
            if isinstance(node, ast.Ref):
                self._value(node.name, node.span, loop, inside.get(id(node), frozenset()))
            elif isinstance(node, ast.Call):
                self._callee(node.func)
            elif isinstance(node, ast.MapExpr) and node.bound_name is not None:
                self._bound(node.bound_name)

    def _bound(self, name: ast.Ident) -> None:
        symbol = self.symbols.get(name.name)
        if symbol is not None and symbol.kind == "const":
            return
        consts = [s.name for s in self.symbols.values() if s.kind == "const"]
        self.diags.append(diag(
            "E0102", f"undefined constant `{name.name}`", name.span, "no `const` with this name",
            secondary=[Label(symbol.span, f"{_WHAT[symbol.kind]}, not a constant")] if symbol else [],
            help=suggest(name.name, consts) or f"declare it: `const {name.name} = 5`",
            notes=("the bound of `map` is an integer or the name of a `const`",),
        ))

    def _callee(self, func: ast.Ident) -> None:
        symbol = self.symbols.get(func.name)
        if symbol is None and self._used(func.name):
            return  # `r.name(...)` of a used file: the link pass reported why it is missing
        if symbol is not None and symbol.kind == "use":
            return  # `r(...)`, a used file's workflow: linking unrolled it or said why not
        if symbol is None:
            self._undefined(func.name, func.span, "function", frozenset({"llm", "fn"}))
        elif symbol.kind not in ("llm", "fn"):
            self.diags.append(
                diag(
                    "E0103",
                    f"`{func.name}` is not a function",
                    func.span,
                    f"{_WHAT[symbol.kind]}, cannot be called",
                    secondary=[Label(symbol.span, "declared here")],
                    help="only `llm` and `fn` declarations can be called",
                )
            )

    def _used(self, name: str) -> bool:
        owner = self.symbols.get(name.partition(".")[0])
        return "." in name and owner is not None and owner.kind == "use"

    def _assign(self, stmt: ast.Assign, loop: str | None) -> None:
        self._expr(stmt.value, loop)
        symbol = self.symbols.get(stmt.name.name)
        if symbol is None:
            self._undefined(stmt.name.name, stmt.name.span, "state", frozenset({"state"}))
        elif symbol.kind != "state":
            self.diags.append(
                diag(
                    "E0111",
                    f"cannot assign to {_WHAT[symbol.kind]} `{stmt.name.name}`",
                    stmt.name.span,
                    "not a state",
                    secondary=[Label(symbol.span, "declared here")],
                    help=f"declare it with `state {stmt.name.name}: TYPE = ...` to update it in a loop",
                )
            )

    # --- models, llms, functions ----------------------------------------------
    def _model(self, ident: ast.Ident) -> str | None:
        symbol = self.symbols.get(ident.name)
        if symbol is None:
            self._undefined(ident.name, ident.span, "model", frozenset({"model"}))
            return None
        if symbol.kind != "model":
            self.diags.append(
                diag(
                    "E0105",
                    f"expected a model, found {_WHAT[symbol.kind]} `{ident.name}`",
                    ident.span,
                    "not a model",
                    secondary=[Label(symbol.span, "declared here")],
                    help='declare one with `model NAME = "provider/model"`',
                )
            )
            return None
        return ident.name

    def _train(self, decl: ast.TrainDecl) -> None:
        for option in decl.options:
            if option.name.name in ROLES and isinstance(option.value, ast.Ref):
                self._model(ast.Ident(option.value.name, option.value.span))

    def _llm(self, decl: ast.LlmDecl) -> str | None:
        self._signature(decl.params)
        model: str | None = None
        if decl.model is not None:
            model = self._model(decl.model)
        elif len(self.models) == 1:
            model = self.models[0]
        else:
            found = "no model is declared" if not self.models else "several models are declared"
            self.diags.append(
                diag(
                    "E0110",
                    f"llm `{decl.name.name}` does not say which model it calls",
                    decl.name.span,
                    f"{found}, so `using` is required",
                    help=f"add `using MODEL` after the return type, e.g. `-> str using {self.models[0] if self.models else 'student'}`",
                )
            )
        if decl.sections and not any(s.name.name == "user" for s in decl.sections):
            self.diags.append(
                diag(
                    "W0102",
                    f"llm `{decl.name.name}` has no `user` section",
                    decl.name.span,
                    "no user message",
                    notes=(
                        "chat models expect a user message; many reply poorly or refuse without one",
                    ),
                    help=f'add one, e.g. `user: "{{{decl.params[0].name.name}}}"`'
                    if decl.params
                    else 'add one, e.g. `user: "..."`',
                )
            )
        seen: dict[str, ast.Section] = {}
        for section in decl.sections:
            name = section.name.name
            if name not in SECTIONS:
                self.diags.append(
                    diag(
                        "E0107",
                        f"unknown llm section `{name}`",
                        section.name.span,
                        "expected `system` or `user`",
                        help=suggest(name, SECTIONS)
                        or "an llm has a `system:` and a `user:` section",
                    )
                )
            elif name in seen:
                self.diags.append(
                    diag(
                        "E0108",
                        f"the `{name}` section is given twice",
                        section.name.span,
                        "repeated section",
                        secondary=[Label(seen[name].name.span, "first given here")],
                        help=f'merge them into one list: `{name}: [a, b, "text"]`',
                    )
                )
            else:
                seen[name] = section
            for part in section.parts:
                if isinstance(part, ast.Ref) and name != "finish":
                    self._param_part(part)
        return model

    def _param_part(self, part: ast.Ref) -> None:
        symbol = self.symbols.get(part.name)
        if symbol is None:
            self._undefined(part.name, part.span, "param", frozenset({"param"}))
        elif symbol.kind != "param":
            arg_hint = (
                f'to insert a value, pass it as an argument and write `"{{{part.name}}}"`'
                if symbol.kind in VALUE_KINDS
                else 'sections list params and "text templates"'
            )
            self.diags.append(
                diag(
                    "E0106",
                    f"expected a param, found {_WHAT[symbol.kind]} `{part.name}`",
                    part.span,
                    "not a param",
                    secondary=[Label(symbol.span, "declared here")],
                    help=arg_hint,
                )
            )

    def _signature(self, params: tuple[ast.ArgDecl, ...]) -> None:
        seen: dict[str, ast.ArgDecl] = {}
        for param in params:
            name = param.name.name
            if name in seen:
                self.diags.append(
                    diag(
                        "E0112",
                        f"the argument `{name}` is declared twice",
                        param.name.span,
                        "repeated argument",
                        secondary=[Label(seen[name].name.span, "first declared here")],
                        help="give each argument its own name",
                    )
                )
                continue
            seen[name] = param
            symbol = self.symbols.get(name)
            if symbol is not None and symbol.kind not in (
                "input",
                "target",
                "node",
                "state",
                "loopvar",
            ):
                self.diags.append(
                    diag(
                        "W0101",
                        f"the argument `{name}` hides {_WHAT[symbol.kind]} of the same name",
                        param.name.span,
                        "this argument",
                        secondary=[Label(symbol.span, "hidden declaration")],
                        help="rename the argument to keep the two apart",
                    )
                )

    def _std(self, ref: ast.StdRef, table: dict[str, Any], what: str) -> None:
        if ref.name in table:
            return
        hint = suggest(ref.name, table)
        self.diags.append(
            diag(
                "E0109",
                f"unknown standard {what} `{ref.name}`",
                ref.span,
                f"no such {what} in the standard library",
                help=hint
                or f"known {what}s: {summarise(sorted(table), limit=6)} (docs/language.md, \"The standard library\", lists them all)",
                notes=()
                if ref.name.startswith("std.")
                else ('for your own Python code write `py "module:function"`',),
            )
        )


def _walk(expr: ast.Expr) -> Iterator[ast.Expr]:
    """All sub-expressions of `expr`, outermost first (iterative)."""
    stack: list[ast.Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(tuple(_children(node))))


walk = _walk


def map_bodies(expr: ast.Expr) -> Iterator[tuple[ast.Expr, frozenset[str]]]:
    """Every sub-expression with the map items visible there (those of the maps whose
    body it is in)."""
    stack: list[tuple[ast.Expr, frozenset[str]]] = [(expr, frozenset())]
    while stack:
        node, items = stack.pop()
        yield node, items
        if isinstance(node, ast.MapExpr):
            stack.append((node.body, items | {node.item.name}))
            stack.append((node.items, items))
        else:
            stack.extend((child, items) for child in _children(node))


def _children(node: ast.Expr) -> Iterator[ast.Expr]:
    match node:
        case ast.Call(args=args):
            yield from (arg.value for arg in args)
        case ast.Add(terms=terms):
            yield from terms
        case ast.ListLit(items=items):
            yield from items
        case ast.RecordLit(fields=fields):
            yield from (value for _, value in fields)
        case ast.FieldAccess(value=value):
            yield value
        case ast.IfExpr(cond=cond, then=then, other=other):
            yield from (cond, then, other)
        case ast.MatchExpr(subject=subject, arms=arms):
            yield subject
            yield from (arm.value for arm in arms)
        case ast.MapExpr(items=items, body=body):
            yield from (items, body)
        case ast.Compare(left=left, right=right):
            yield from (left, right)
        case ast.BoolOp(terms=terms):
            yield from terms
        case ast.Not(value=value):
            yield value
        case _:
            pass


children = _children  # the direct sub-expressions of one expression


def expressions(decl: ast.Decl) -> Iterator[tuple[ast.Expr, str | None]]:
    """The expressions a declaration holds, with the loop they are in."""
    match decl:
        case ast.NodeDecl() | ast.Assign():
            yield decl.value, None
        case ast.StateDecl():
            yield decl.init, None
        case ast.LoopDecl():
            for loop, stmt in loop_statements(decl):
                if not isinstance(stmt, ast.LoopDecl):
                    yield stmt.value, loop.name.name
            for loop in nested_loops(decl):
                if loop.until is not None:
                    yield loop.until, loop.name.name
        case ast.LossDecl():
            for arg in decl.args:
                yield arg.value, None
        case _:
            pass

