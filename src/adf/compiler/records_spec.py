"""What the compiler passes give each other: declarations of the pass results.

Takes nothing; gives `Symbol` and `Scope` (resolve), `OrderedLoop` and
`Graph` (build_graph), `Signature` (a function's parameter and return
types) and `Typing` (typecheck), `Unrolled` (unroll) and `CompileResult`
(the pipeline), `PendingLast` (a `last` node unroll makes when first read); and what reading a Python module gives (`adf.compiler.pysource`,
`pyresolve`, `pysink`): `PyParam`, `PySignature`, the `Resolution` of a
reference (`Found`, `Dynamic`, `Missing`, `Unreadable`) and `Sink`. Each module imports its own from here under the same
name, so `adf.compiler.resolve.Scope` and the others keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

from adf.diagnostics import Diagnostic, Span
from adf.plan.schema import Guard, LoopInfo, Node, Plan, Type
from adf.syntax import ast

if TYPE_CHECKING:
    import ast as pyast  # Python's own; only files with `py` bindings import it

SymbolKind = Literal[
    "model", "param", "input", "target", "llm", "fn", "node", "state", "loopvar", "loss",
    "const", "item", "use",
]


@attrs.frozen(weakref_slot=False)  # one per declared name: no weak references
class Symbol:
    name: str
    kind: SymbolKind
    span: Span
    decl: Any
    loop: str | None = None


@attrs.frozen
class Scope:
    """Declared names. `llm_models` maps each llm to the model it calls."""

    symbols: dict[str, Symbol]
    llm_models: dict[str, str]
    parents: dict[str, str] = attrs.field(factory=dict)  # a nested loop -> the loop around it

    def inside(self, loop: str | None, outer: str | None) -> bool:
        """Whether a statement of `loop`'s body is inside `outer` (the loop itself or one
        around it); every statement is inside `None`, the top level."""
        while loop is not None and loop != outer:
            loop = self.parents.get(loop)
        return loop == outer

    def child(self, loop: str | None, level: str | None) -> str | None:
        """The loop directly in `level`'s body (or at the top level, for `None`) that
        holds `loop`'s body, when `loop` is nested in `level` but is not `level`."""
        while loop is not None:
            parent = self.parents.get(loop)
            if parent == level:
                return loop
            loop = parent
        return None

    def get(self, name: str, *kinds: str) -> Symbol | None:
        symbol = self.symbols.get(name)
        if symbol is None or (kinds and symbol.kind not in kinds):
            return None
        return symbol


@attrs.frozen
class OrderedLoop:
    """A loop with its body in order: nodes and nested loops by data flow, then its
    state updates."""

    decl: ast.LoopDecl
    body: tuple[ast.NodeDecl | ast.Assign | OrderedLoop, ...]


@attrs.frozen
class Graph:
    """`order` holds top-level nodes and loops; `updates` maps a state to its loop."""

    order: tuple[ast.NodeDecl | OrderedLoop, ...]
    updates: dict[str, str]


@attrs.frozen
class Signature:
    params: tuple[tuple[str, Type | None], ...]
    returns: Type | None


@attrs.frozen
class Typing:
    values: dict[str, Type | None]
    functions: dict[str, Signature]


@attrs.frozen
class PendingLast:
    """A `last` node the unroller makes when its value is first read: the value's id at
    each step, the `until` condition's at each step, and the context the loop ended in."""

    name: str
    ids: tuple[str, ...]
    dones: tuple[str, ...]
    span: Span
    step: int | None
    loop: str | None
    guards: tuple[Guard, ...]


@attrs.frozen
class Unrolled:
    nodes: tuple[Node, ...]
    loops: tuple[LoopInfo, ...]
    final: dict[str, str]


@attrs.frozen
class CompileResult:
    plan: Plan | None
    diagnostics: tuple[Diagnostic, ...]
    source: str
    file: str

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@attrs.frozen
class PyParam:
    """One named parameter of a Python function."""

    name: str
    type: Type | None
    positional: bool  # can be passed by position
    keyword: bool  # can be passed by name
    required: bool  # has no default

    @property
    def positional_only(self) -> bool:
        return not self.keyword


@attrs.frozen
class PySignature:
    params: tuple[PyParam, ...]
    var_positional: bool  # `*args`
    var_keyword: bool  # `**kwargs`
    text: str  # `(a, b=..., *, c)`, for messages

    @property
    def by_name(self) -> dict[str, PyParam]:
        return {p.name: p for p in self.params}


@attrs.frozen
class Found:
    """A callable's signature, read from a `def` or a `lambda`."""

    args: pyast.arguments
    returns: pyast.expr | None
    is_async: bool
    where: str  # "module:name" of the definition reached
    definition: pyast.FunctionDef | pyast.AsyncFunctionDef | pyast.Lambda | None = attrs.field(
        default=None, eq=False, repr=False
    )


@attrs.frozen
class Dynamic:
    reason: str


@attrs.frozen
class Missing:
    names: tuple[str, ...]  # the functions the module does define


@attrs.frozen
class Unreadable:
    reason: str
    builtin: bool  # part of Python itself, with no source file to read


Resolution = Found | Dynamic | Missing | Unreadable


@attrs.frozen
class Sink:
    entry: str  # "module:name" of the entry point
    does: str  # "runs a shell command", ...
    via: str | None  # the user function ("module:name") that calls it, if not bound directly
    param: str | None  # the parameter of that function which reaches the call
