"""The abstract syntax tree of an `.adf` program.

Takes nothing; gives frozen record classes, one per construct of the grammar
(`adf/syntax/adf.lark`), each with the `Span` of the source text it came
from. The parser (`adf.syntax.parser`) builds them; the compiler passes
read them and never change them (they are frozen: use `adf.records.replace`).
No weak references: a large program's tree is mostly these nodes.
Literal values keep their own spans so diagnostics and write-back can point
at exactly the text of a prompt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal as TypingLiteral

import attrs

from adf.diagnostics import Span


@attrs.frozen(weakref_slot=False)
class Ident:
    """A name as written, with its span."""

    name: str
    span: Span


# --- types -----------------------------------------------------------------


@attrs.frozen(weakref_slot=False)
class NamedType:
    """`str`, `int`, `float`, `bool` (or an unknown name, reported by typecheck)."""

    name: str
    span: Span


@attrs.frozen(weakref_slot=False)
class GenericType:
    """`list[T]` (any other `name[T]` is reported by typecheck)."""

    name: Ident
    arg: TypeExpr
    span: Span


@attrs.frozen(weakref_slot=False)
class EnumType:
    values: tuple[Ident, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class RecordType:
    fields: tuple[tuple[Ident, TypeExpr], ...]
    span: Span


TypeExpr = NamedType | GenericType | EnumType | RecordType


# --- expressions and literals ------------------------------------------------


@attrs.frozen(weakref_slot=False)
class StrLit:
    """A string literal: `value` is decoded. `quote` is how many quote marks enclose it
    in the source (1, or 3 for a long string; 0 for a literal not written in the source)
    and `escaped` the text between them as written when that differs from `value`
    (escapes, joined lines), else None: a literal's text is held once, not twice (a
    large file's check holds every literal of it). `raw` gives the text as written."""

    value: str
    span: Span
    quote: int = 0
    escaped: str | None = None

    @property
    def raw(self) -> str:
        """The literal as written, with its quotes ("" when it was not written)."""
        if not self.quote:
            return ""
        marks = '"' * self.quote
        return f"{marks}{self.value if self.escaped is None else self.escaped}{marks}"


@attrs.frozen(weakref_slot=False)
class IntLit:
    value: int
    span: Span


@attrs.frozen(weakref_slot=False)
class FloatLit:
    value: float
    span: Span


@attrs.frozen(weakref_slot=False)
class BoolLit:
    value: bool
    span: Span


@attrs.frozen(weakref_slot=False)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class RecordLit:
    fields: tuple[tuple[Ident, Expr], ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class Ref:
    """A use of a name as a value."""

    name: str
    span: Span


@attrs.frozen(weakref_slot=False)
class Arg:
    """A call argument, positional (`name is None`) or by keyword."""

    name: Ident | None
    value: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class Call:
    func: Ident
    args: tuple[Arg, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class Add:
    """`a + b + c`: kept flat (left-associative) so long chains need no recursion."""

    terms: tuple[Expr, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class FieldAccess:
    """`value.field`: one field of a record value (`verdict.label`)."""

    value: Expr
    field: Ident
    span: Span


@attrs.frozen(weakref_slot=False)
class IfExpr:
    """`if cond then a else b`: only the chosen branch runs."""

    cond: Expr
    then: Expr
    other: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class MatchArm:
    """`LABEL => expr` (`_ => expr` takes every label no other arm names)."""

    label: Ident
    value: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class MatchExpr:
    """`match subject { A => a, B => b }` over an enum: only the matching arm runs."""

    subject: Expr
    arms: tuple[MatchArm, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class MapExpr:
    """`map item in items max N => expr`: `expr` once per item of the list `items`
    (at most `bound` of them), with `item` naming the item; gives the list of results.
    A bound written as a name is `bound_name` (its value is the `const`'s)."""

    item: Ident
    items: Expr
    bound: int
    bound_span: Span
    body: Expr
    span: Span
    bound_name: Ident | None = None


CompareOp = TypingLiteral["==", "!=", "<", "<=", ">", ">="]


@attrs.frozen(weakref_slot=False)
class Compare:
    """`left OP right` with OP one of `== != < <= > >=`: a `bool`."""

    op: CompareOp
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class BoolOp:
    """`a and b and c` or `a or b`: kept flat, like `Add`."""

    op: TypingLiteral["and", "or"]
    terms: tuple[Expr, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class Not:
    """`not value`."""

    value: Expr
    span: Span


Expr = (
    StrLit | IntLit | FloatLit | BoolLit | ListLit | RecordLit | Ref | Call | Add | FieldAccess
    | IfExpr | MatchExpr | MapExpr | Compare | BoolOp | Not
)
LiteralExpr = StrLit | IntLit | FloatLit | BoolLit | ListLit | RecordLit


# --- options -------------------------------------------------------------------


@attrs.frozen(weakref_slot=False)
class EnvCall:
    """`env("NAME")`: a value read from the environment when a model is called."""

    var: StrLit
    span: Span


OptionValueExpr = StrLit | IntLit | FloatLit | BoolLit | EnvCall | Ref


@attrs.frozen(weakref_slot=False)
class Option:
    name: Ident
    value: OptionValueExpr
    span: Span


# --- declarations ----------------------------------------------------------------


@attrs.frozen(weakref_slot=False)
class UseDecl:
    """`use "retrieval.adf" as r`: the llm and fn declarations of another file,
    called as `r.name(...)` (the path is relative to this file)."""

    path: StrLit
    alias: Ident
    span: Span


@attrs.frozen(weakref_slot=False)
class ModelDecl:
    name: Ident
    model: StrLit
    options: tuple[Option, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class TrainDecl:
    options: tuple[Option, ...]
    span: Span


ParamKindName = TypingLiteral["prompt", "demos"]


@attrs.frozen(weakref_slot=False)
class ParamDecl:
    name: Ident
    kind: ParamKindName
    kind_span: Span
    kind_options: tuple[Option, ...]
    frozen: bool
    description: StrLit | None
    value: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class DataDecl:
    """`input` or `target`; `field` is the `from "..."` clause when present."""

    role: TypingLiteral["input", "target"]
    name: Ident
    type: TypeExpr
    field: StrLit | None
    span: Span


@attrs.frozen(weakref_slot=False)
class ArgDecl:
    name: Ident
    type: TypeExpr
    span: Span


@attrs.frozen(weakref_slot=False)
class Section:
    """`system: [...]` or `user: ...` inside an llm: param names and text templates."""

    name: Ident
    parts: tuple[Ref | StrLit, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class ToolEntry:
    """`calculator: calc_doc` in a `tools:` section: a declared fn the model may call,
    with its description (a param or text; none when left out)."""

    name: Ident
    description: Ref | StrLit | None
    span: Span


@attrs.frozen(weakref_slot=False)
class ToolsSection:
    """`tools: [calculator: calc_doc, final_answer: "Give the answer."]` inside an llm."""

    entries: tuple[ToolEntry, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class LlmDecl:
    name: Ident
    params: tuple[ArgDecl, ...]
    returns: TypeExpr
    model: Ident | None
    sections: tuple[Section, ...]
    span: Span
    model_options: tuple[Option, ...] = ()  # `using m(temperature: 0.9)`: this llm's own
    tools: tuple[ToolsSection, ...] = ()  # `tools: [...]` (more than one is E0108)


@attrs.frozen(weakref_slot=False)
class StdRef:
    """`std.parse.last_int`: a dotted name (only `std.*` names exist)."""

    name: str
    span: Span


@attrs.frozen(weakref_slot=False)
class PyRef:
    """`py "module:function"`."""

    ref: StrLit
    span: Span


FnTarget = StdRef | PyRef


@attrs.frozen(weakref_slot=False)
class FnDecl:
    name: Ident
    params: tuple[ArgDecl, ...]
    returns: TypeExpr
    target: FnTarget
    span: Span


@attrs.frozen(weakref_slot=False)
class WorkflowArg:
    """What a node made by linking binds: the input `input` of the workflow called as
    `workflow(...)`, declared of type `type` in the file `file`. No syntax writes it:
    `node v = r(x)` gives the node `v.INPUT = x` with it, so that `x` is checked
    against the input's type and the workflow's nodes see that type."""

    workflow: str
    input: str
    type: TypeExpr
    file: str


@attrs.frozen(weakref_slot=False)
class NodeDecl:
    name: Ident
    value: Expr
    span: Span
    arg: WorkflowArg | None = None  # set on the nodes binding a workflow call's inputs


@attrs.frozen(weakref_slot=False)
class StateDecl:
    name: Ident
    type: TypeExpr
    init: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class Assign:
    """`name = expr`: a state update (only meaningful inside a loop)."""

    name: Ident
    value: Expr
    span: Span


@attrs.frozen(weakref_slot=False)
class LoopDecl:
    """`loop NAME in A..B until DONE { ... }`. A bound written as a name is in
    `bound_names` (its value, once the constants are bound, in `start`/`end`).
    `until` is a name (a `Ref`) or a condition such as `found or len >= 3`.
    The body may hold loops of its own (nested loops)."""

    name: Ident
    start: int
    end: int
    range_span: Span
    body: tuple[NodeDecl | Assign | LoopDecl, ...]
    span: Span
    bound_names: tuple[Ident | None, Ident | None] = (None, None)
    until: Expr | None = None


@attrs.frozen(weakref_slot=False)
class ConstDecl:
    """`const NAME = INT`: a named integer, usable as a loop bound."""

    name: Ident
    value: int
    span: Span


@attrs.frozen(weakref_slot=False)
class LossDecl:
    name: Ident
    metric: FnTarget
    args: tuple[Arg, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class WeightedLoss:
    """One term of an objective: `0.7 * em` (a bare `em` has weight 1)."""

    weight: float
    weight_span: Span | None
    loss: Ident
    span: Span


@attrs.frozen(weakref_slot=False)
class ObjectiveDecl:
    """`loss total = 0.7 * em + 0.3 * f1`: a weighted sum of other losses."""

    name: Ident
    terms: tuple[WeightedLoss, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class OutputDecl:
    name: Ident
    span: Span


Decl = (
    UseDecl
    | ModelDecl
    | TrainDecl
    | ParamDecl
    | DataDecl
    | LlmDecl
    | FnDecl
    | NodeDecl
    | StateDecl
    | Assign
    | LoopDecl
    | ConstDecl
    | LossDecl
    | ObjectiveDecl
    | OutputDecl
)


@attrs.frozen(weakref_slot=False)
class Program:
    decls: tuple[Decl, ...]


def row_field(decl: DataDecl) -> str:
    """The field of a data row an `input` or `target` reads: its `from`, else its name."""
    return decl.field.value if decl.field is not None else decl.name.name


def loop_statements(
    decl: LoopDecl,
) -> Iterator[tuple[LoopDecl, NodeDecl | Assign | LoopDecl]]:
    """Every statement of a loop's body and of the loops nested in it, each with the
    loop whose body holds it, in source order (iterative)."""
    stack: list[tuple[LoopDecl, int]] = [(decl, 0)]
    while stack:
        loop, at = stack.pop()
        if at == len(loop.body):
            continue
        stmt = loop.body[at]
        stack.append((loop, at + 1))
        yield loop, stmt
        if isinstance(stmt, LoopDecl):
            stack.append((stmt, 0))


def nested_loops(decl: LoopDecl) -> Iterator[LoopDecl]:
    """A loop and every loop nested in it, outermost first."""
    yield decl
    for _, stmt in loop_statements(decl):
        if isinstance(stmt, LoopDecl):
            yield stmt
