"""Type checking: every edge, every literal, every template.

Takes the `Program`, its `Scope` and `Graph`; gives `Typing` (the type of
every value name and the signature of every function) and diagnostics
E02xx (W0201 for an argument no placeholder uses). This module is the walk:
declarations in source order (annotations by `adf.compiler.typeexpr`,
declaration checks by `adf.compiler.declcheck`), then nodes and state
updates in graph order (expressions by `adf.compiler.infer`, so a node's
inputs are typed before it), then losses. A name an earlier pass rejected
has the unknown type `None`, and every check passes silently on `None`:
one mistake, one error.
"""


from __future__ import annotations

from adf.compiler import types as T
from adf.compiler.declcheck import (
    check_llm,
    check_loss,
    check_model_block,
    check_param,
    check_train,
)
from adf.compiler.graph import Graph, OrderedLoop
from adf.compiler.infer import Inference, Signature, bind_args
from adf.compiler.records import Typing as Typing
from adf.compiler.report import diag
from adf.compiler.resolve import Scope
from adf.compiler.typeexpr import type_of
from adf.diagnostics import Diagnostic
from adf.plan.schema import Type
from adf.syntax import ast
from adf.syntax.ast import nested_loops

__all__ = ["Signature", "Typing", "bind_args", "typecheck", "until_key"]


def typecheck(
    program: ast.Program, scope: Scope, graph: Graph
) -> tuple[Typing, tuple[Diagnostic, ...]]:
    checker = _Checker(scope)
    checker.run(program, graph)
    return Typing(checker.values, checker.functions), tuple(checker.diags)


def until_key(loop: ast.LoopDecl) -> str:
    """Where `Typing.values` keeps the type of a loop's `until` condition when it is
    an expression (a name no declaration can have)."""
    return f"{loop.name.name}.until"


class _Checker:
    """The walk: declarations in source order, then nodes in graph order, then losses."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.inference = Inference(scope)
        self.diags = self.inference.diags
        self.values = self.inference.values
        self.functions = self.inference.functions
        self.infer = self.inference.infer

    def type_of(self, expr: ast.TypeExpr) -> Type | None:
        return type_of(expr, self.diags)

    def run(self, program: ast.Program, graph: Graph) -> None:
        for decl in program.decls:
            match decl:
                case ast.DataDecl():
                    if decl.field is not None and not decl.field.value:
                        self.diags.append(
                            diag(
                                "E0213",
                                f"`{decl.name.name}` reads a field with an empty name",
                                decl.field.span,
                                "empty field name",
                                help=f'write the data field\'s name, e.g. `from "{decl.name.name}"`, or drop `from` to read `{decl.name.name}`',
                            )
                        )
                    if (
                        self.scope.symbols.get(decl.name.name) is not None
                        and self.scope.symbols[decl.name.name].decl is decl
                    ):
                        self.values[decl.name.name] = self.type_of(decl.type)
                case ast.StateDecl():
                    if self.scope.symbols[decl.name.name].decl is decl:
                        self.values[decl.name.name] = self._state(decl)
                case ast.LoopDecl():
                    for loop in nested_loops(decl):
                        self.values.setdefault(loop.name.name, T.INT)
                case ast.LlmDecl() | ast.FnDecl():
                    params = tuple((p.name.name, self.type_of(p.type)) for p in decl.params)
                    returns = self.type_of(decl.returns)
                    if self.scope.symbols[decl.name.name].decl is decl:
                        self.functions[decl.name.name] = Signature(params, returns)
                    if isinstance(decl, ast.LlmDecl):
                        check_llm(decl, returns, self.scope, self.diags)
                case ast.ModelDecl():
                    if not decl.model.value.strip():
                        self.diags.append(
                            diag(
                                "E0213",
                                f"model `{decl.name.name}` names no model",
                                decl.model.span,
                                "empty model string",
                                help='write "local" for the built-in local model, or a litellm model such as "openai/gpt-4o-mini"',
                            )
                        )
                    check_model_block(decl.options, self.diags)
                case ast.TrainDecl():
                    check_train(decl, self.diags)
                case ast.ParamDecl():
                    check_param(decl, self.diags)
                case _:
                    pass
        for item in graph.order:
            if isinstance(item, OrderedLoop):
                self._loop(item)
            else:
                self.values[item.name.name] = self._node(item)
        for decl in program.decls:
            if isinstance(decl, ast.LossDecl):
                check_loss(decl, self.inference)

    def _node(self, decl: ast.NodeDecl) -> Type | None:
        """A top-level node's type; a node binding a workflow call's input
        (`adf.compiler.inline`) has the input's declared type, and its value must fit it."""
        if decl.arg is None:
            return self.infer(decl.value, None)
        arg = decl.arg
        want = type_of(arg.type, [])  # the used file checked it
        got = self.infer(decl.value, want)
        if not T.assignable(got, want):
            self.inference.mismatch(
                want, got, decl.value.span, f"argument `{arg.input}` of the workflow `{arg.workflow}`",
                help_=f"`{arg.file}` declares `input {arg.input}: {want}`",
            )
        return want

    def _loop(self, item: OrderedLoop) -> None:
        """A loop's body in its order, the loops nested in it in their place."""
        outer = self.inference.loop
        self.inference.loop = item.decl.name.name
        for stmt in item.body:
            if isinstance(stmt, OrderedLoop):
                self._loop(stmt)
            elif isinstance(stmt, ast.NodeDecl):
                self.values[stmt.name.name] = self.infer(stmt.value, None)
            else:
                self._assign(stmt)
        until = item.decl.until
        if until is not None and not isinstance(until, ast.Ref):  # E0307 reads it
            self.values[until_key(item.decl)] = self.infer(until, T.BOOL)
        self.inference.loop = outer

    def _state(self, decl: ast.StateDecl) -> Type | None:
        declared = self.type_of(decl.type)
        literal = T.literal_type(decl.init)
        if literal is None:
            self.diags.append(
                diag(
                    "E0206",
                    f"the initial value of state `{decl.name.name}` must be a literal",
                    decl.init.span,
                    "not a literal",
                    help='write a constant such as `""`, `0` or `[]`; compute values inside the loop',
                )
            )
        elif not T.literal_fits(decl.init, declared):
            self.inference.mismatch(
                declared,
                literal,
                decl.init.span,
                f"state `{decl.name.name}` starts with a value of the wrong type",
                decl.type,
            )
        return declared

    def _assign(self, stmt: ast.Assign) -> None:
        if self.scope.get(stmt.name.name, "state") is None:
            self.infer(stmt.value, None)
            return
        declared = self.values.get(stmt.name.name)
        got = self.infer(stmt.value, declared)
        if not T.assignable(got, declared):
            decl = self.scope.symbols[stmt.name.name].decl
            self.inference.mismatch(
                declared,
                got,
                stmt.value.span,
                f"state `{stmt.name.name}` is updated with a value of the wrong type",
                decl.type,
            )
