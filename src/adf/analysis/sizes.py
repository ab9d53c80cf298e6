"""Static size estimates: how many tokens each value and each prompt holds.

Takes a `GraphView` and, optionally, data rows (JSON objects as read from a
jsonl file); gives a `Sizes`: the estimated tokens of every value (input,
target, node result) and, for every llm node, of its prompt and its reply.
One forward sweep in topological order, so a loop whose state grows by a
list each step gets a growing prompt at each time step.

How values are sized
- Inputs and targets: the mean rendered length of their field in the data
  when rows are given, else a default by type.
- An llm node's reply (`ReplySize`: at the bound, expected, or short): a
  typed value (enum, number, bool, record, list) its type's size, at most
  `max_tokens`. Free text (`str`) at the bound is its model's `max_tokens`
  when declared (how much a model writes is not in the program), else a
  default; expected, a reply the loss scores against a target (itself, or
  its first line or stripped text) is as long as that target in the data
  (`scored_replies`), any other free text (reasoning, notes, tool text)
  at the bound: nothing in the program or the data says how much a model
  writes there, and small models run on (SmolLM2-135M wrote a mean of 270
  of its 384 on six gsm8k questions, three of them to the bound), so
  sizing it at a typical value's size forecast such runs about 4x short;
  short, one short line.
- A `map` item: the list's size shared by its typical number of items
  (three); a `map`'s result: all its items' results. A branch or the value
  after an `until` loop: the largest value it may pass on.
- A functional node: a rule per standard-library entry (`std.op.add` sums
  its arguments, `std.parse.last_int` gives a few tokens...); user `py`
  functions get a default by their declared output type.
- A prompt: its literal text with each `{arg}` replaced by the argument's
  size, plus each parameter's current value; a demos parameter counts
  between its demos as they are and its capacity `max` (training fills it)
  by `fill` (1: at capacity), each demo as large as one call's inputs and
  reply.

Tokens are `adf.llm.catalogue.estimate_tokens` (characters / 4, rounded up,
the usual rule of thumb for English text and BPE tokenizers); estimates, not
a tokenizer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal, assert_never

from adf.analysis.graphview import GraphView
from adf.analysis.records import Sizes as Sizes
from adf.llm.catalogue import MESSAGE_OVERHEAD, estimate_tokens, positive_int
from adf.plan import placeholders
from adf.plan.schema import DataDecl, Node, ParamDecl, Plan, Type

ReplySize = Literal["bound", "expected", "short"]

# The training prompts' own sizes (tokens), used by the cost forecast and the context lint.
FEEDBACK_TOKENS = 100  # one piece of feedback: at most three sentences
BACKWARD_OVERHEAD = 300  # the backward engine's fixed instructions
OPTIMIZER_OVERHEAD = 600  # the optimizer's instructions and menu of edits
REASONING_TOKENS = 150  # the optimizer's reasoning before its proposal

_TYPE_DEFAULTS = {"str": 64, "int": 2, "float": 3, "bool": 1, "any": 64}
_REPLY_DEFAULTS = {"str": 256, "int": 32, "float": 32, "bool": 16, "enum": 16, "any": 256}
_LIST_ITEMS = 3
_FREE_TEXT = ("str", "any", "tool_call")  # replies whose length the program does not fix
_JSON_OVERHEAD = 6  # the object, key and quotes around a typed reply
SHORT_REPLY = 8  # free text at its shortest: one short line
# functions whose result is the reply's answer text as written: a loss on it scores the reply
_SAME_TEXT = ("std.parse.first_line", "std.parse.strip")


def type_tokens(type_: Type, text: int | None = None) -> int:
    """A typical size for a value of this type when nothing better is known; `text`, when
    given, is the size of each piece of free text in it."""
    match type_.kind:
        case "list":
            return _LIST_ITEMS * type_tokens(type_.of or Type("any"), text)
        case "enum":
            return max((estimate_tokens(v) for v in type_.values), default=1)
        case "record":
            return sum(estimate_tokens(name) + 1 + type_tokens(t, text) for name, t in type_.fields)
        case "str" | "any" if text is not None:
            return text
        case _:
            return _TYPE_DEFAULTS.get(type_.kind, 64)


def reply_tokens(view: GraphView, node: Node, reply: ReplySize = "bound",
                 scored: int | None = None) -> int:
    """A reply's size: a typed value's own (JSON) size; free text at `max_tokens` (the bound),
    expected at `scored` (the size of the target the loss compares it with, when it does) or
    else at the bound, or short at one short line (the least a model may write)."""
    assert node.llm is not None
    limit = positive_int(dict(node.llm.bind(view.plan.model(node.llm.model)).options).get("max_tokens"))
    kind = node.output_type.kind
    if kind not in _FREE_TEXT:
        # the free text inside a typed reply (a record's strings) is as long or short as any
        typed = type_tokens(node.output_type, SHORT_REPLY if reply == "short" else None) + _JSON_OVERHEAD
        return typed if limit is None else min(limit, typed)
    bound = limit if limit is not None else _REPLY_DEFAULTS.get(kind, 256)
    match reply:
        case "bound":
            return bound
        case "expected":
            return bound if scored is None else min(bound, max(scored, 1))
        case "short":
            return min(bound, SHORT_REPLY)
        case _:
            assert_never(reply)


def scored_replies(plan: Plan) -> dict[str, str]:
    """Per llm node whose reply a loss compares with a target as it is (or its first line,
    or stripped): that target's name. Its reply is expected to be about as long."""
    nodes = {n.id: n for n in plan.nodes}
    out: dict[str, str] = {}
    for loss in plan.losses:
        node = nodes.get(loss.pred)
        while node is not None and node.kind == "fn" and node.fn is not None \
                and node.fn.ref in _SAME_TEXT and len(node.inputs) == 1:
            node = nodes.get(node.inputs[0].source)
        if node is not None and node.llm is not None:
            out.setdefault(node.id, loss.target)
    return out


def measure_rows(decls: Iterable[DataDecl], rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Mean tokens of each declared field over the rows that have it."""
    fields = tuple(decls)
    totals = {d.name: 0 for d in fields}
    counts = {d.name: 0 for d in fields}
    for row in rows:
        for decl in fields:
            if decl.field in row:
                totals[decl.name] += estimate_tokens(_render(row[decl.field]))
                counts[decl.name] += 1
    return {name: math.ceil(totals[name] / counts[name]) for name in totals if counts[name]}


def _render(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def compute_sizes(view: GraphView, rows: Iterable[Mapping[str, Any]] | None = None, *,
                  reply: ReplySize = "bound", fill: float = 1.0) -> Sizes:
    """Every value's and llm call's size: free-text replies by `reply` (at the bound by
    default) and demo sets `fill` of the way from as they are now to their capacity."""
    plan = view.plan
    decls = (*plan.inputs, *plan.targets)
    measured = measure_rows(decls, rows) if rows is not None else {}
    values: dict[str, int] = {d.name: measured.get(d.name, type_tokens(d.type)) for d in decls}
    scored = {node: values.get(target) for node, target in scored_replies(plan).items()}
    prompts: dict[str, int] = {}
    replies: dict[str, int] = {}
    for node in plan.nodes:
        args = {b.name: values.get(b.source, 0) for b in node.inputs}
        if node.kind == "llm":
            size = reply_tokens(view, node, reply, scored.get(node.id))
            prompts[node.id] = _prompt_tokens(view, node, args, size, fill)
            replies[node.id] = size
            values[node.id] = size
        elif node.kind == "fn":
            values[node.id] = _fn_tokens(node, args)
        elif node.kind == "field":
            values[node.id] = min(args.get("record", 0),
                                  type_tokens(node.output_type, SHORT_REPLY if reply == "short" else None))
        elif node.kind == "item":  # one of the list's typical number of items
            values[node.id] = math.ceil(args.get("items", 0) / _LIST_ITEMS)
        elif node.kind == "map":  # every item's result, at the bound
            values[node.id] = sum(size for name, size in args.items() if name != "items")
        elif node.kind in ("select", "last"):  # the largest value it may pass on
            values[node.id] = max((size for name, size in args.items()
                                   if name.startswith(("case:", "step"))), default=0)
        else:
            values[node.id] = estimate_tokens(node.value_json or "")
    return Sizes(values=values, prompts=prompts, replies=replies, measured=frozenset(measured))


def _prompt_tokens(view: GraphView, node: Node, args: Mapping[str, int], reply: int,
                   fill: float) -> int:
    assert node.llm is not None
    total = 0
    for parts in (node.llm.system, node.llm.user):
        if not parts:
            continue
        total += MESSAGE_OVERHEAD
        for part in parts:
            if part.kind == "param":
                total += param_tokens(view.params[part.param], sum(args.values()) + reply, fill)
            else:
                total += _text_tokens(part.text, args)
    for tool in node.llm.tools:  # each definition: name, argument schema, description
        total += MESSAGE_OVERHEAD + estimate_tokens(tool.name + json.dumps([n for n, _ in tool.params]))
        for part in tool.description:
            total += (param_tokens(view.params[part.param], 0) if part.kind == "param"
                      else estimate_tokens(part.text))
    return total


def param_tokens(param: ParamDecl, demo_size: int, fill: float = 1.0) -> int:
    """A parameter's size in a prompt: its value, or its demos `fill` of the way from as they
    are (0) to at capacity (1)."""
    if param.kind == "prompt":
        return estimate_tokens(param.value)
    current = sum(
        estimate_tokens("Example 00:\n" + "\n".join(f"{k}: {v}" for k, v in demo.fields))
        for demo in param.demos
    )
    capacity = param.max_demos if param.max_demos is not None else len(param.demos)
    full = max(current, capacity * (demo_size + 4))
    return current + math.ceil((full - current) * min(max(fill, 0.0), 1.0) - 1e-9)


def _text_tokens(text: str, args: Mapping[str, int]) -> int:
    """Tokens of a template part: its literal text plus each filled placeholder's size."""
    total = 0
    rest: list[str] = []
    for piece in placeholders.scan(text):
        if piece.kind == "hole" and piece.value in args:
            total += args[piece.value]
        else:
            rest.append(text[piece.start : piece.end] if piece.kind == "hole" else piece.value)
    return total + estimate_tokens("".join(rest))


def _fn_tokens(node: Node, args: Mapping[str, int]) -> int:
    assert node.fn is not None
    sizes = list(args.values())
    first = sizes[0] if sizes else 0
    match node.fn.ref:
        case "std.op.add" | "std.op.append" | "std.text.join":
            return sum(sizes)
        case "std.text.lines" | "std.parse.strip" | "std.parse.after_marker":
            return first
        case "std.parse.first_line":
            return min(first, 32)
        case "std.parse.last_int" | "std.parse.last_number":
            return 2
        case "std.tools.calculator":
            return 4
        case _:
            return type_tokens(node.output_type)
