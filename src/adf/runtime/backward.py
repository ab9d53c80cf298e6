"""The textual backward pass: a rule table over node kinds plus one traversal.

Takes a plan, the forward results of a batch, a `ModelClient` and the
parameter values the forward pass used; gives `BackwardResult`: the
`Feedback` each trainable parameter receives (ordered by
`adf.runtime.feedback.order_feedback`), the replies that could not be used,
and the number of backward-engine calls.

Only samples scoring below `threshold` are walked (selective gradients); a
passing sample costs nothing. For a failing sample, feedback starts at the
node that failed (an unparseable reply, a function that raised) or else at
each failing loss's prediction, carrying the loss message. The traversal
visits the unrolled nodes once, in reverse topological order, and hands each
node the feedback its consumers sent it, oldest consumer first. What a node
does with it is decided by `RULES[node.kind]`:

- `llm`: one call to the frozen backward engine with the node's full prompt,
  its output and the downstream feedback; the reply gives one text per
  trainable peer parameter of the prompt and per upstream input that leads to
  a trainable parameter (a JSON object; read tolerantly). An llm with tools
  is reviewed the same way, with the tools it was offered shown after its
  prompt and its answer given as the call it chose (tool, arguments, what
  came back), so the feedback is on its tool choice and arguments; a tool
  description that is a trainable param is one of its parts.
- `fn`: with one input that leads to a trainable parameter, the feedback
  passes through unchanged; with several, one call asks the engine to
  assign the blame per input (the function's inputs, its result and the
  feedback, one JSON key per input), and an input whose key is missing or
  unusable gets the shared feedback instead. A comparison or `and`/`or`/`not`
  first says what its inputs made of the condition ("... the condition
  `3 >= 4`, which was false: ..."), in front of the shared and the per-input
  feedback alike.
- `const`: nothing.
- `select`: the feedback goes to the branch the sample took, and to the
  condition that chose it (saying which branch it chose); untaken branches
  never ran and get nothing.
- `last`: the feedback goes to the step an `until` loop stopped at and to
  the condition that stopped it there; the steps after it never ran and get
  nothing. Nested loops need no rule of their own: an inner `until` loop's
  value in an outer step is a `last` node of that step (`x.last@1`), and
  the walk's reverse plan order is reverse time order across inner and
  outer steps alike (`x@1.1`, `x@1.0`, then `x@0.2`, ...).
- `field`: the feedback goes to the record's producer, prefixed with the
  name of the field it is about.
- `map`: the feedback on the list of results goes to the result of each
  item that ran, saying which item it is; items past the list's end never
  ran and get nothing. The nodes of an item's body pass it on as usual, and
  the `Feedback` a parameter receives from them carries the item's number,
  so a parameter shared by every item sees one record per item.
- `item`: the feedback goes to the list the item was taken from, saying
  which element it is about.

Feedback only travels towards nodes from which a trainable parameter can be
reached, so no call is spent on a branch that cannot learn, frozen
parameters never receive anything, and inputs and targets are never targets.
Feedback that only clears an input ("not at fault") stops there: the node
that produced the input gets no call. `kinds` limits the parameters asked
about to those kinds (training passes `{"prompt"}`: demo sets are chosen
by their own gate and never read feedback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

import attrs

from adf.llm.protocol import ModelClient, ModelError
from adf.plan.paramvalue import ParamValue
from adf.plan.routing import case_key, chosen
from adf.plan.schema import ModelDecl, Node, NodeKind, ParamKind, Plan
from adf.runtime.backward_reply import parse_reply
from adf.runtime.backward_requests import backward_request, blame_request, unique
from adf.runtime.feedback import BackwardFailure, Feedback, is_cleared, order_feedback
from adf.runtime.trace import CallInfo, NodeTrace, SampleResult
from adf.runtime.values import render
from adf.stdlib.signatures import OPERATORS

DEFAULT_THRESHOLD = 0.9


@attrs.frozen
class Gradient:
    """Feedback arriving at a node; `origin_index` orders several arrivals deterministically."""

    text: str
    origin: str
    origin_index: int
    losses: tuple[str, ...] = ()  # the failing losses this feedback explains
    via: tuple[str, ...] = ()  # functional nodes it passed through, nearest first


@attrs.frozen
class Propagation:
    """What a rule produced at one node."""

    params: tuple[tuple[str, str], ...] = ()  # trainable param -> feedback
    inputs: tuple[tuple[str, str], ...] = ()  # upstream source id -> feedback
    via: tuple[str, ...] = ()  # set by pass-through rules: the path so far
    failures: tuple[str, ...] = ()
    call: CallInfo | None = None
    called: bool = False
    call_failed: bool = False


@attrs.frozen
class Graph:
    """Plan facts the traversal needs, computed once per backward pass."""

    plan: Plan
    index: Mapping[str, int]
    trainable: Mapping[str, tuple[str, ...]]  # node id -> its trainable peer params, in order
    carries: frozenset[str]  # node ids from which a trainable param is reachable upstream

    @staticmethod
    def of(plan: Plan, kinds: Collection[ParamKind] = ("prompt", "demos")) -> Graph:
        asked = {p.name for p in plan.params if not p.frozen and p.kind in kinds}
        trainable: dict[str, tuple[str, ...]] = {}
        carries: set[str] = set()
        for node in plan.nodes:
            names: list[str] = []
            if node.llm is not None:
                for part in node.llm.parts:
                    if part.kind == "param" and part.param in asked and part.param not in names:
                        names.append(part.param)
            trainable[node.id] = tuple(names)
            if names or any(b.source in carries for b in node.inputs):
                carries.add(node.id)
        index = {node.id: i for i, node in enumerate(plan.nodes)}
        return Graph(plan, index, trainable, frozenset(carries))

    def blamed(self, node: Node) -> list[str]:
        """The inputs of `node` that lead to a trainable parameter, each once."""
        return unique(b.source for b in node.inputs if b.source in self.carries)

    def calls(self) -> int:
        """At most this many backward-engine calls for one failing sample."""
        return sum(1 for node in self.plan.nodes if node.id in self.carries and (
            node.kind == "llm" or (node.kind == "fn" and len(self.blamed(node)) > 1)))


@attrs.frozen
class Context:
    graph: Graph
    client: ModelClient
    params: Mapping[str, ParamValue]
    engine: ModelDecl | None  # None: each llm node's own model reviews it
    sample: SampleResult


Rule = Callable[[Context, Node, NodeTrace, tuple[Gradient, ...]], Awaitable[Propagation]]


@attrs.frozen
class SampleBackward:
    feedback: tuple[Feedback, ...]
    failures: tuple[BackwardFailure, ...]
    calls: tuple[CallInfo, ...]
    attempted: int
    failed_calls: int


@attrs.frozen
class BackwardResult:
    feedback: tuple[Feedback, ...]
    failures: tuple[BackwardFailure, ...]
    calls: int  # backward-engine calls attempted (answered, cached or failed)
    samples: int  # samples walked (scored below the threshold)
    passed: int  # samples at or above the threshold: no calls
    failed_calls: int  # backward-engine calls that failed for good
    threshold: float
    model_errors: int = 0  # samples below the threshold only because a model call failed

    def for_param(self, name: str) -> tuple[Feedback, ...]:
        return tuple(f for f in self.feedback if f.param == name)

    def by_param(self) -> dict[str, tuple[Feedback, ...]]:
        """Param -> its feedback, params in order of first feedback (deterministic)."""
        grouped: dict[str, list[Feedback]] = {}
        for item in self.feedback:
            grouped.setdefault(item.param, []).append(item)
        return {name: tuple(items) for name, items in grouped.items()}


def needs_backward(result: SampleResult, threshold: float) -> bool:
    score = result.score
    return score is not None and score < threshold


async def backward_batch(
    plan: Plan,
    results: Sequence[SampleResult],
    client: ModelClient,
    params: Mapping[str, ParamValue],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    engine: ModelDecl | None = None,
    concurrency: int = 8,
    kinds: Collection[ParamKind] = ("prompt", "demos"),
) -> BackwardResult:
    graph = Graph.of(plan, kinds)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, result: SampleResult) -> SampleBackward:
        async with gate:
            context = Context(graph, client, params, engine, result)
            return await backward_sample(context, index, threshold)

    chosen = [(i, r) for i, r in enumerate(results) if needs_backward(r, threshold)]
    walked = await asyncio.gather(*(one(i, r) for i, r in chosen))
    feedback = [f for w in walked for f in w.feedback]
    failures = tuple(f for w in walked for f in w.failures)
    return BackwardResult(
        feedback=order_feedback(feedback, (p.name for p in plan.params)),
        failures=failures,
        calls=sum(w.attempted for w in walked),
        samples=len(chosen),
        passed=sum(1 for r in results if r.score is not None and r.score >= threshold),
        failed_calls=sum(w.failed_calls for w in walked),
        threshold=threshold,
        model_errors=sum(1 for _, r in chosen if r.error is not None and r.error.kind == "model"),
    )


async def backward_sample(context: Context, sample_index: int, threshold: float) -> SampleBackward:
    """Walk one sample's unrolled trace in reverse topological order."""
    graph, result = context.graph, context.sample
    nodes = graph.plan.nodes
    pending: dict[str, list[Gradient]] = {}
    for node_id, gradient in seeds(graph, result, threshold):
        pending.setdefault(node_id, []).append(gradient)
    score = result.score if result.score is not None else 0.0
    feedback: list[Feedback] = []
    failures: list[BackwardFailure] = []
    calls: list[CallInfo] = []
    attempted = failed_calls = 0
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        arrived = pending.pop(node.id, None)
        if not arrived or node.id not in graph.carries:
            continue
        trace = result.nodes[index]
        if trace.status in ("skipped", "untaken"):
            continue
        ordered = tuple(sorted(arrived, key=lambda g: g.origin_index))
        propagation = await RULES[node.kind](context, node, trace, ordered)
        attempted += int(propagation.called)
        failed_calls += int(propagation.call_failed)
        if propagation.call is not None:
            calls.append(propagation.call)
        failures += [BackwardFailure(result.sample.id, node.id, m) for m in propagation.failures]
        losses = tuple(dict.fromkeys(name for g in ordered for name in g.losses))
        for param, text in propagation.params:
            feedback.append(Feedback(param, result.sample.id, node.id, node.step, score, text,
                                     ", ".join(losses), sample_index, index, node.item))
        for source, text in propagation.inputs:
            if source in graph.carries and not is_cleared(text):
                pending.setdefault(source, []).append(
                    Gradient(text, f"node {node.id}", index, losses, propagation.via))
    return SampleBackward(tuple(feedback), tuple(failures), tuple(calls), attempted, failed_calls)


def seeds(graph: Graph, result: SampleResult, threshold: float) -> list[tuple[str, Gradient]]:
    """Where feedback starts: the failing node, or each failing loss's prediction."""
    base = len(graph.plan.nodes)
    error = result.error
    if error is not None:
        if error.kind == "model" or error.node is None:
            return []  # nothing the workflow's text could have changed
        failing = [loss for loss in result.losses if loss.score < threshold]
        message = failing[0].message if failing else error.message
        names = tuple(loss.name for loss in failing)
        return [(error.node, Gradient(message, "error", base, names))]
    out: list[tuple[str, Gradient]] = []
    plan_losses = {loss.name: loss for loss in graph.plan.losses}
    for offset, loss in enumerate(result.losses):
        if loss.score >= threshold or loss.name not in plan_losses:
            continue  # met, or an objective: its failing losses seed on their own
        pred = plan_losses[loss.name].pred
        if pred in graph.index:
            out.append((pred, Gradient(loss.message, f"loss {loss.name}", base + offset,
                                       (loss.name,))))
    return out


# --- rules --------------------------------------------------------------------


async def _const_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    return Propagation()


def _via(step: str, arrived: tuple[Gradient, ...]) -> tuple[str, ...]:
    """The path feedback took to a pass-through node: this step, then the one path that
    brought it (several arrivals have no single path)."""
    return (step, *arrived[0].via) if len(arrived) == 1 else (step,)


def _onward(context: Context, out: list[tuple[str, str]], via: tuple[str, ...]) -> Propagation:
    """Pass feedback on to the sources that lead to a trainable parameter only."""
    carries = context.graph.carries
    return Propagation(inputs=tuple((s, t) for s, t in out if s in carries), via=via)


async def _fn_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    sources = context.graph.blamed(node)
    assert node.fn is not None
    step = f"{node.id} ({node.fn.ref.removeprefix('py:')})"
    via = _via(step, arrived)
    note = _condition_note(node, trace)
    shared = tuple((s, note + g.text) for s in sources for g in arrived)
    if len(sources) < 2:
        return Propagation(inputs=shared, via=via)
    keys: dict[str, str] = {}  # reply key -> source
    for binding in node.inputs:
        if binding.source in sources and binding.source not in keys.values():
            keys[binding.name] = binding.source
    request = blame_request(context, node, trace, arrived, keys)
    try:
        reply = await context.client.complete(request)
    except ModelError as exc:
        return Propagation(inputs=shared, via=via, called=True, call_failed=True, failures=(
            f"blame call failed: {exc.reason}; the shared feedback was passed on",))
    parsed = parse_reply(reply.text, list(keys))
    got = dict(parsed.texts)
    # a cleared input stays cleared (and stops there): the note goes only on feedback to act on
    out = [(source, got[key] if is_cleared(got[key]) else note + got[key])
           for key, source in keys.items() if key in got]
    out += [(source, note + g.text) for key, source in keys.items() if key not in got
            for g in arrived]
    failures = (f"the blame reply has no usable text for {', '.join(parsed.missing)}; the "
                "shared feedback was passed on",) if parsed.missing else ()
    return Propagation(inputs=tuple(out), via=via, failures=failures,
                       call=CallInfo.of(request.model, reply), called=True)


_SYMBOLS = {ref: symbol for symbol, ref in OPERATORS.items()}


def _condition_note(node: Node, trace: NodeTrace) -> str:
    """For a comparison or `and`/`or`/`not`: what its inputs made of the condition."""
    assert node.fn is not None
    symbol = _SYMBOLS.get(node.fn.ref)
    if symbol is None:
        return ""
    values = [render(value) for _, value in trace.inputs]
    shown = f"{symbol} {values[0]}" if len(values) == 1 else f" {symbol} ".join(values)
    return f"This value was part of the condition `{shown}`, which was {case_key(trace.value)}: "


async def _field_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    """Feedback on one field goes to the record's producer, saying which field it is about."""
    return _to_source(context, node, arrived, f"{node.id} (the field `{node.field}`)",
                      f"About the field `{node.field}` of this output: ")


def _to_source(context: Context, node: Node, arrived: tuple[Gradient, ...], step: str,
               note: str) -> Propagation:
    """Feedback passed to the node's one input, each text prefixed with `note`."""
    source = node.inputs[0].source
    if source not in context.graph.carries:
        return Propagation()
    return Propagation(inputs=tuple((source, note + g.text) for g in arrived),
                       via=_via(step, arrived))


async def _select_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    """Feedback goes to the branch taken, and to the condition that chose it."""
    cond = dict(trace.inputs).get("cond")
    taken = chosen(node, cond)
    label = case_key(cond)
    step = f"{node.id} (the branch `{label}`)"
    via = _via(step, arrived)
    out = [(taken, g.text) for g in arrived]
    note = f"This value chose the branch `{label}`, whose result was judged: "
    out += [(node.inputs[0].source, note + g.text) for g in arrived]
    return _onward(context, out, via)


async def _last_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    """Feedback on a loop's final value goes to the step the loop stopped at, and to
    that step's `until` condition, which decided to stop there."""
    sources = {b.name: b.source for b in node.inputs}
    name = trace.inputs[0][0] if trace.inputs else ""
    taken = sources.get(name)
    if taken is None:
        return Propagation()
    done = sources.get("until" + name.removeprefix("step"))
    step = f"{node.id} (step {taken})"
    via = _via(step, arrived)
    out = [(taken, g.text) for g in arrived]
    note = "The loop stopped after this step; the result after the loop was judged: "
    out += [(done, note + g.text) for g in arrived if done is not None]
    return _onward(context, out, via)


async def _map_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    """Feedback on the results goes to each item that ran, naming the item."""
    count = int(dict(trace.inputs).get("items", 0))
    results = node.inputs[1:count + 1]
    via = _via(f"{node.id} (map over {count} items)", arrived)
    out = [(b.source, f"About item {i} of {count} in the list `{node.name}`: {g.text}")
           for i, b in enumerate(results) for g in arrived]
    return _onward(context, out, via)


async def _item_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    """Feedback on one item goes to the list it was taken from, naming the element."""
    return _to_source(context, node, arrived, f"{node.id} (element {node.item})",
                      f"About element {node.item} of this list: ")


async def _llm_rule(
    context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...]
) -> Propagation:
    assert node.llm is not None
    if trace.raw is None:
        return Propagation(failures=("no reply to review: the forward call failed",))
    graph = context.graph
    params = graph.trainable[node.id]
    bindings = [b for b in node.inputs if b.source in graph.carries]
    keys: dict[str, tuple[str, str]] = {}  # reply key -> ("param", name) | ("input", source)
    for name in params:
        keys[name] = ("param", name)
    for binding in bindings:
        key = binding.name if binding.name not in keys else f"input_{binding.name}"
        keys.setdefault(key, ("input", binding.source))
    request = backward_request(context, node, trace, arrived, keys)
    try:
        reply = await context.client.complete(request)
    except ModelError as exc:
        return Propagation(failures=(f"backward call failed: {exc.reason}",), called=True,
                           call_failed=True)
    except Exception as exc:  # a client bug must not take the whole batch down
        reason = f"backward call failed: unexpected {type(exc).__name__}: {exc}"
        return Propagation(failures=(reason,), called=True, call_failed=True)
    call = CallInfo.of(request.model, reply)
    parsed = parse_reply(reply.text, list(keys))
    failures: tuple[str, ...] = ()
    if parsed.missing:
        failures = (f"the backward reply has no usable feedback for {', '.join(parsed.missing)}",)
    out_params = tuple((keys[k][1], t) for k, t in parsed.texts if keys[k][0] == "param")
    out_inputs = tuple((keys[k][1], t) for k, t in parsed.texts if keys[k][0] == "input")
    return Propagation(params=out_params, inputs=out_inputs, failures=failures, call=call,
                       called=True)


RULES: dict[NodeKind, Rule] = {
    "llm": _llm_rule,
    "fn": _fn_rule,
    "const": _const_rule,
    "field": _field_rule,
    "select": _select_rule,
    "last": _last_rule,
    "item": _item_rule,
    "map": _map_rule,
}


# --- the backward-engine prompt ----------------------------------------------
