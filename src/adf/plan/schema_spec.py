"""The plan: the compiled, unrolled, serializable form of an `.adf` program.

Takes nothing; gives the frozen classes the compiler emits and the runtime
reads. This module is the contract between the two layers: the runtime never
sees `.adf` text or the AST, only a `Plan`. Encoding to msgpack and loading
with validation live in `adf.plan.codec`.

Conventions
- Every value flowing along an edge has a *source id*: an input name, a
  target name, or a node id. Ids are unique across all three.
- Node ids of loop copies carry their time step: `q@0`, `q@1`; in a loop
  nested in another, the outer step first: `q@1.0` (`step` is the innermost
  step, `loop` the innermost loop; `Node.time` reads them all). Nodes outside
  loops have `step = None` and no `@`.
- `Plan.nodes` is in a valid topological order (every binding's source is an
  input, a target or an earlier node).
- Constants are stored as canonical JSON text so the plan stays hashable and
  byte-for-byte deterministic.
- Models hold no secret values: options that come from the environment are
  `EnvRef(name)` and are resolved only when a call is made.
"""

from __future__ import annotations

from typing import Literal

import attrs

from adf.diagnostics import Span
from adf.records import replace

FORMAT_VERSION = 3

# A field marked with `OMIT_DEFAULT` is left out of the encoded plan while it
# holds its default value, so a program that uses none of the constructs a
# format version added compiles to the same bytes as before (but for the
# version number).
OMIT_DEFAULT = {"omit_default": True}

TypeKind = Literal["str", "int", "float", "bool", "list", "enum", "record", "any"]
ParamKind = Literal["prompt", "demos"]
NodeKind = Literal["llm", "fn", "const", "field", "select", "last", "item", "map"]
PartKind = Literal["param", "text"]


@attrs.frozen(weakref_slot=False)
class Type:
    """A value type. `of` is set for lists, `values` for enums, `fields` for records."""

    kind: TypeKind
    of: Type | None = None
    values: tuple[str, ...] = ()
    fields: tuple[tuple[str, Type], ...] = ()

    def __str__(self) -> str:
        match self.kind:
            case "list":
                return f"list[{self.of}]"
            case "enum":
                return "enum{" + ", ".join(self.values) + "}"
            case "record":
                return "{" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"
            case _:
                return self.kind


@attrs.frozen(weakref_slot=False)
class EnvRef:
    """A value read from the environment at call time, never stored."""

    name: str


OptionValue = str | int | float | bool | EnvRef


@attrs.frozen(weakref_slot=False)
class ModelDecl:
    """A named model: a litellm model string plus options (api_base, temperature, context...)."""

    name: str
    model: str
    options: tuple[tuple[str, OptionValue], ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class Demo:
    """One few-shot example: ordered field name -> text (e.g. question, answer)."""

    fields: tuple[tuple[str, str], ...]


@attrs.frozen(weakref_slot=False)
class ParamDecl:
    """A text parameter. `value` for prompts, `demos` for demos; `value_span` locates
    the literal in the source so training can write a better value back in place.
    `turns`: demos sent as user/assistant turns before the call's own user message
    (`demos(turns: true)`) instead of as text in the prompt."""

    name: str
    kind: ParamKind
    value: str
    demos: tuple[Demo, ...]
    frozen: bool
    description: str
    max_demos: int | None
    span: Span
    value_span: Span | None
    turns: bool = attrs.field(default=False, metadata=OMIT_DEFAULT)


@attrs.frozen(weakref_slot=False)
class DataDecl:
    """An `input` or `target`: a typed field read from each data row (`field` may rename)."""

    name: str
    type: Type
    field: str
    span: Span


@attrs.frozen(weakref_slot=False)
class Binding:
    """Argument `name` of the called function receives the value with id `source`."""

    name: str
    source: str


@attrs.frozen(weakref_slot=False)
class TemplatePart:
    """A piece of a prompt: a parameter's current value, or text with `{arg}` holes."""

    kind: PartKind
    param: str = ""
    text: str = ""


@attrs.frozen(weakref_slot=False)
class FnSpec:
    """`ref` is a stdlib entry (`std.parse.last_int`) or `py:module:function`."""

    function: str
    ref: str


@attrs.frozen(weakref_slot=False)
class ToolSpec:
    """A declared `fn` an llm may choose to call (`tools: [calculator: doc]`).

    `params` are the fn's typed arguments (they become the tool's JSON schema),
    `description` its one part (a param or text, none when left out), `finish`
    whether calling it ends the agent's work (`finish: [...]`)."""

    name: str
    fn: FnSpec
    params: tuple[tuple[str, Type], ...]
    description: tuple[TemplatePart, ...]
    finish: bool


# The value of a tool-calling llm node: which tool it called, with which
# arguments (JSON text), what the tool returned, and whether it was a finish tool.
TOOL_CALL = Type(
    "record",
    fields=(("tool", Type("str")), ("arguments", Type("str")), ("result", Type("str")),
            ("done", Type("bool"))),
)


@attrs.frozen(weakref_slot=False)
class LlmSpec:
    """`options` (from `using MODEL(name: value)`) replace the model's options of the
    same name for this function's calls; `tools` are the fns the model chooses from
    (the node's value is then a `TOOL_CALL` record)."""

    function: str
    model: str
    system: tuple[TemplatePart, ...]
    user: tuple[TemplatePart, ...]
    options: tuple[tuple[str, OptionValue], ...] = attrs.field(default=(), metadata=OMIT_DEFAULT)
    tools: tuple[ToolSpec, ...] = attrs.field(default=(), metadata=OMIT_DEFAULT)

    @property
    def parts(self) -> tuple[TemplatePart, ...]:
        """Every part the model is shown: the messages', then the tools' descriptions."""
        if not self.tools:
            return (*self.system, *self.user)
        return (*self.system, *self.user, *(p for t in self.tools for p in t.description))

    def bind(self, model: ModelDecl) -> ModelDecl:
        """The model as this function calls it: its options with this function's on top."""
        if not self.options:
            return model
        mine = dict(self.options)
        kept = tuple((k, v) for k, v in model.options if k not in mine)
        return replace(model, options=kept + self.options)


@attrs.frozen(weakref_slot=False)
class Guard:
    """A node runs only when the value `source` is one of `cases` (`true`, `false`
    or enum labels); otherwise it is not taken: it does not run and costs nothing.
    With no `cases` the guard asks only that `source` ran: the nodes of a `map`
    item are guarded by that item's `item` node, which does not run when the
    list is shorter."""

    source: str
    cases: tuple[str, ...]


@attrs.frozen(weakref_slot=False)
class Node:
    """One call in the unrolled graph. `name` is the node's name without the time step.

    A `select` node passes on the value of the branch taken: its inputs are
    `cond` and one `case:LABEL` per branch (`case:_` takes the other labels).
    A `last` node gives the value of its last input that was computed: after
    an `until` loop, a state or body node reads the step the loop stopped at.
    An `item` node gives element `item` of its one input, the list `items`
    (it is not taken when the list is shorter); the nodes of that item's body
    carry the same `item` number. A `map` node gives the list of its inputs
    `item0`, `item1`, ... for as many items as its input `items` has."""

    id: str
    kind: NodeKind
    name: str
    step: int | None
    loop: str | None
    inputs: tuple[Binding, ...]
    output_type: Type
    span: Span
    llm: LlmSpec | None = None
    fn: FnSpec | None = None
    value_json: str | None = None
    field: str | None = attrs.field(default=None, metadata=OMIT_DEFAULT)  # `field` nodes
    # all must hold for the node to run (nodes written inside a branch)
    when: tuple[Guard, ...] = attrs.field(default=(), metadata=OMIT_DEFAULT)
    item: int | None = attrs.field(default=None, metadata=OMIT_DEFAULT)  # `map` items
    # the workflow call it was unrolled from: `v` for `node v = r(...)` (nested calls: the
    # outermost, in this file)
    call: str | None = attrs.field(default=None, metadata=OMIT_DEFAULT)

    @property
    def time(self) -> tuple[int, ...]:
        """The node's time steps, outermost loop first, as its id writes them after `@`:
        `(2,)` for step 2 of its loop, `(1, 2)` for step 2 of a loop nested in step 1 of
        another; `()` outside loops."""
        if self.step is None:
            return ()
        return tuple(int(t) for t in self.id.rsplit("@", 1)[1].split("."))


@attrs.frozen(weakref_slot=False)
class Loss:
    """`metric(pred, target, **options)` gives a score in [0, 1] and a textual loss."""

    name: str
    metric: str
    pred: str
    target: str
    options: tuple[tuple[str, OptionValue], ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class ObjectiveTerm:
    loss: str
    weight: float


@attrs.frozen(weakref_slot=False)
class Objective:
    """`loss NAME = w1 * a + w2 * b`: a weighted sum of metric losses (weights add up to 1).

    A loss that an objective combines counts towards the sample's score
    only through it."""

    name: str
    terms: tuple[ObjectiveTerm, ...]
    span: Span


@attrs.frozen(weakref_slot=False)
class Output:
    name: str
    source: str
    span: Span


@attrs.frozen(weakref_slot=False)
class FunctionDecl:
    """A declared `llm` or `fn`, kept even when never called (for lints)."""

    name: str
    kind: Literal["llm", "fn"]
    span: Span


@attrs.frozen(weakref_slot=False)
class LoopInfo:
    """`until` names the body node whose `true` ends the loop after its step; `parent`
    the loop whose body holds this one (None for a loop at the top level). `body` names
    the nodes of this loop's own body, not those of the loops nested in it."""

    name: str
    bound: int
    body: tuple[str, ...]
    span: Span
    until: str | None = attrs.field(default=None, metadata=OMIT_DEFAULT)
    parent: str | None = attrs.field(default=None, metadata=OMIT_DEFAULT)


@attrs.frozen(weakref_slot=False)
class Training:
    """Which declared models play the frozen roles during training."""

    backward_model: str
    optimizer_model: str
    teacher_model: str | None
    options: tuple[tuple[str, OptionValue], ...] = ()


@attrs.frozen(weakref_slot=False)
class Plan:
    format_version: int
    source_name: str
    source_hash: str
    models: tuple[ModelDecl, ...]
    params: tuple[ParamDecl, ...]
    inputs: tuple[DataDecl, ...]
    targets: tuple[DataDecl, ...]
    functions: tuple[FunctionDecl, ...]
    loops: tuple[LoopInfo, ...]
    nodes: tuple[Node, ...]
    losses: tuple[Loss, ...]
    outputs: tuple[Output, ...]
    training: Training | None
    objectives: tuple[Objective, ...] = attrs.field(default=(), metadata=OMIT_DEFAULT)

    def fn_specs(self) -> tuple[FnSpec, ...]:
        """Every function the plan may run, once each in plan order: `fn` nodes' and the
        tools of llm nodes."""
        found: dict[str, FnSpec] = {}
        for node in self.nodes:
            if node.fn is not None:
                found.setdefault(node.fn.ref, node.fn)
            if node.llm is not None:
                for tool in node.llm.tools:
                    found.setdefault(tool.fn.ref, tool.fn)
        return tuple(found.values())

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def turn_demos(self) -> frozenset[str]:
        """The demos params sent as user/assistant turns (`demos(turns: true)`)."""
        return frozenset(p.name for p in self.params if p.turns)

    def param(self, name: str) -> ParamDecl:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def model(self, name: str) -> ModelDecl:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)
