"""Where every name of a program is declared and used: the editor's symbol index.

Takes a parsed `Program`; gives an `Index` of `Occurrence`s (a name, its
span, whether it declares or uses, and the key of the symbol it means).
Go-to-definition, find-references, rename, highlighting and semantic tokens
all read this one table. Pure: no I/O, no compiler state.

Two scopes exist, as in the language:
- top-level names (models, params, inputs, targets, llm and fn
  declarations, nodes, states, loop variables, losses) share one namespace,
  keyed `("", name)`;
- an llm's or fn's arguments are keyed `(function, name)`: they are declared
  in its signature and used by `{name}` placeholders in its templates and by
  keyword arguments of calls to it (`solve(question: q)`).

Placeholders are read with the one template grammar (`adf.plan.placeholders`)
that the checker and the renderer use.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Literal, assert_never

import attrs

from adf.compiler.resolve import expressions, walk
from adf.diagnostics import Span
from adf.plan.placeholders import scan
from adf.syntax import ast
from adf.syntax.ast import loop_statements, nested_loops

SymbolKind = Literal[
    "model", "param", "input", "target", "llm", "fn", "node", "state", "loopvar", "loss", "arg",
    "const", "item", "use",
]
Key = tuple[str, str]



@attrs.frozen
class Occurrence:
    key: Key
    span: Span
    kind: SymbolKind
    is_definition: bool
    in_template: bool = False

    @property
    def name(self) -> str:
        return self.key[1]


@attrs.frozen
class Index:
    occurrences: tuple[Occurrence, ...]  # sorted by span
    definitions: dict[Key, Occurrence]
    decls: dict[Key, ast.Decl | ast.ArgDecl]

    def at(self, line: int, col: int) -> Occurrence | None:
        """The occurrence covering 1-based (line, col), or ending just before it."""
        probe = Span(line, col, line, col)
        position = bisect.bisect_right(self.occurrences, probe, key=lambda o: o.span)
        for occurrence in self.occurrences[max(0, position - 2) : position + 1]:
            span = occurrence.span
            if span.line == line and span.col <= col <= span.end_col:
                return occurrence
        return None

    def references(self, key: Key) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.occurrences if o.key == key)

    def top_level(self) -> tuple[Occurrence, ...]:
        return tuple(o for k, o in self.definitions.items() if not k[0])

    def arguments(self, function: str) -> tuple[Occurrence, ...]:
        return tuple(o for k, o in self.definitions.items() if k[0] == function)


def build_index(program: ast.Program) -> Index:
    builder = _Builder()
    builder.declare_all(program)
    builder.use_all(program)
    found = sorted(builder.found, key=lambda o: (o.span, not o.is_definition))
    return Index(tuple(found), builder.definitions, builder.decls)


def placeholders(lit: ast.StrLit) -> Iterator[tuple[str, Span]]:
    """Each `{name}` of a template literal: the name and the span of the name alone."""
    raw = lit.raw
    if not raw:
        return
    quote = 3 if raw.startswith('"""') else 1
    for piece in scan(raw[quote:-quote]):
        if piece.kind == "hole":
            start = quote + piece.start + 1
            yield piece.value, _inner(lit, start, start + len(piece.value))


def _inner(lit: ast.StrLit, start: int, end: int) -> Span:
    raw = lit.raw
    before = raw[:start]
    newlines = before.count("\n")
    if newlines == 0:
        return Span(lit.span.line, lit.span.col + start, lit.span.line, lit.span.col + end)
    col = start - before.rfind("\n")
    return Span(lit.span.line + newlines, col, lit.span.line + newlines, col + end - start)


_KIND_OF: dict[type, SymbolKind] = {
    ast.ModelDecl: "model",
    ast.ParamDecl: "param",
    ast.LlmDecl: "llm",
    ast.FnDecl: "fn",
    ast.NodeDecl: "node",
    ast.StateDecl: "state",
    ast.LossDecl: "loss",
    ast.ObjectiveDecl: "loss",
}


class _Builder:
    def __init__(self) -> None:
        self.found: list[Occurrence] = []
        self.definitions: dict[Key, Occurrence] = {}
        self.decls: dict[Key, ast.Decl | ast.ArgDecl] = {}
        self.signatures: dict[str, tuple[str, ...]] = {}

    def _define(
        self, owner: str, ident: ast.Ident, kind: SymbolKind, decl: ast.Decl | ast.ArgDecl
    ) -> None:
        key = (owner, ident.name)
        occurrence = Occurrence(key, ident.span, kind, True)
        self.found.append(occurrence)
        if key not in self.definitions:  # a repeated declaration is E0101; the first wins
            self.definitions[key] = occurrence
            self.decls[key] = decl

    def _use(self, owner: str, name: str, span: Span, *, template: bool = False) -> None:
        key = (owner, name)
        definition = self.definitions.get(key)
        kind: SymbolKind = definition.kind if definition is not None else "arg" if owner else "node"
        self.found.append(Occurrence(key, span, kind, False, template))

    def declare_all(self, program: ast.Program) -> None:
        for decl in program.decls:
            match decl:
                case ast.DataDecl():
                    self._define("", decl.name, decl.role, decl)
                case ast.LoopDecl():
                    self._define("", decl.name, "loopvar", decl)
                    for _, stmt in loop_statements(decl):
                        if isinstance(stmt, ast.NodeDecl):
                            self._define("", stmt.name, "node", stmt)
                        elif isinstance(stmt, ast.LoopDecl):
                            self._define("", stmt.name, "loopvar", stmt)
                case ast.LlmDecl() | ast.FnDecl():
                    self._define("", decl.name, _KIND_OF[type(decl)], decl)
                    self.signatures[decl.name.name] = tuple(p.name.name for p in decl.params)
                    for param in decl.params:
                        self._define(decl.name.name, param.name, "arg", param)
                case (
                    ast.ModelDecl() | ast.ParamDecl() | ast.NodeDecl() | ast.StateDecl()
                    | ast.LossDecl() | ast.ObjectiveDecl()
                ):
                    self._define("", decl.name, _KIND_OF[type(decl)], decl)
                case ast.ConstDecl():
                    self._define("", decl.name, "const", decl)
                case ast.UseDecl():
                    self._define("", decl.alias, "use", decl)
                case ast.TrainDecl() | ast.Assign() | ast.OutputDecl():
                    pass
                case _:
                    assert_never(decl)
            for expr, _ in expressions(decl):  # a map's item is declared by its `map`
                for found in walk(expr):
                    if isinstance(found, ast.MapExpr):
                        self._define("", found.item, "item", decl)

    def use_all(self, program: ast.Program) -> None:
        for decl in program.decls:
            match decl:
                case ast.ModelDecl():
                    self._options(decl.options)
                case ast.TrainDecl():
                    self._options(decl.options)
                case ast.ParamDecl():
                    self._expr(decl.value)
                case ast.LlmDecl():
                    if decl.model is not None:
                        self._use("", decl.model.name, decl.model.span)
                    for section in decl.sections:
                        for part in section.parts:
                            if isinstance(part, ast.Ref):
                                self._use("", part.name, part.span)
                            else:
                                for name, span in placeholders(part):
                                    self._use(decl.name.name, name, span, template=True)
                    for tools in decl.tools:  # each tool is an fn, its description a param
                        for entry in tools.entries:
                            self._use("", entry.name.name, entry.name.span)
                            if isinstance(entry.description, ast.Ref):
                                self._use("", entry.description.name, entry.description.span)
                case ast.NodeDecl():
                    self._expr(decl.value)
                case ast.StateDecl():
                    self._expr(decl.init)
                case ast.Assign():
                    self._assign(decl)
                case ast.LoopDecl():
                    for loop in nested_loops(decl):
                        for bound in loop.bound_names:
                            if bound is not None:
                                self._use("", bound.name, bound.span)
                        if loop.until is not None:
                            self._expr(loop.until)
                    for _, stmt in loop_statements(decl):
                        if isinstance(stmt, ast.NodeDecl):
                            self._expr(stmt.value)
                        elif isinstance(stmt, ast.Assign):
                            self._assign(stmt)
                case ast.LossDecl():
                    for arg in decl.args:
                        if arg.name is None:  # keywords are the metric's options
                            self._expr(arg.value)
                case ast.ObjectiveDecl():
                    for term in decl.terms:
                        self._use("", term.loss.name, term.loss.span)
                case ast.OutputDecl():
                    self._use("", decl.name.name, decl.name.span)
                case ast.DataDecl() | ast.FnDecl() | ast.ConstDecl() | ast.UseDecl():
                    pass
                case _:
                    assert_never(decl)

    def _options(self, options: tuple[ast.Option, ...]) -> None:
        for option in options:
            if isinstance(option.value, ast.Ref):  # a training role names a model
                self._use("", option.value.name, option.value.span)

    def _assign(self, stmt: ast.Assign) -> None:
        self._use("", stmt.name.name, stmt.name.span)
        self._expr(stmt.value)

    def _expr(self, expr: ast.Expr) -> None:
        for node in walk(expr):
            if isinstance(node, ast.Ref):
                self._use("", node.name, node.span)
            elif isinstance(node, ast.MapExpr) and node.bound_name is not None:
                self._use("", node.bound_name.name, node.bound_name.span)
            elif isinstance(node, ast.Call):
                self._use("", node.func.name, node.func.span)
                names = self.signatures.get(node.func.name, ())
                for arg in node.args:
                    if arg.name is not None and arg.name.name in names:
                        self._use(node.func.name, arg.name.name, arg.name.span)
