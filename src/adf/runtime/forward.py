"""The forward pass of one sample through the unrolled graph.

Takes a plan, a sample, a `ModelClient`, the parameter values to use and the
bound functions; gives a `SampleResult`: one `NodeTrace` per node (in plan
order), the outputs, the scored losses and the first error if any.

Every node is an asyncio task that awaits the tasks of the nodes it reads, so
independent branches overlap and a node starts as soon as its inputs are
ready. Nothing a node produces depends on when it ran: the trace is assembled
in plan order and the sample error is the first failing node in that order.
Failures are values: a model error, an unparseable reply or an exception in a
function marks the node failed, the nodes after it skipped, and the sample
gets an error with a reason; nothing propagates as an exception except
cancellation. A loss whose prediction is missing scores 0, except when the
cause is a model call that failed after its retries: that says nothing about
the workflow, so the loss is left out and the sample is not scored.

Constrained outputs (`structured=True`, the default): an llm node whose
declared output has structure (`int`, `float`, `bool`, `enum`, lists,
records) sends the JSON schema of that type with its request
(`adf.runtime.structured`); the reply is read as that JSON first and, when it
does not follow the schema, by the tolerant text parser. `str` outputs stay
free text. The node trace's `reply_mode` says which path was taken.

An llm with tools sends their definitions instead of a schema, and runs the
tool the model chose (`adf.runtime.tools`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from adf.llm.protocol import ModelClient, ModelError
from adf.llm.requests import build_request
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Node, Plan
from adf.runtime.bindings import Bindings
from adf.runtime.data import Sample
from adf.runtime.mapping import collect, take_item
from adf.runtime.routing import last_run, not_taken, select
from adf.runtime.scoring import failed_loss, score_loss, score_objectives
from adf.runtime.structured import output_schema, read_structured
from adf.runtime.template import render_messages
from adf.runtime.tools import call_tool, tool_definitions
from adf.runtime.trace import (
    CallInfo,
    LossResult,
    NodeTrace,
    ReplyMode,
    SampleError,
    SampleResult,
)
from adf.runtime.values import ValueFailure, coerce, describe, parse_text


async def run_sample(
    plan: Plan,
    sample: Sample,
    client: ModelClient,
    params: Mapping[str, ParamValue],
    bindings: Bindings,
    *,
    structured: bool = True,
) -> SampleResult:
    known = sample.values()
    tasks: dict[str, asyncio.Task[NodeTrace]] = {}
    try:
        for node in plan.nodes:
            sources = (*(b.source for b in node.inputs), *(g.source for g in node.when))
            deps = tuple(tasks[s] for s in dict.fromkeys(sources) if s in tasks)
            tasks[node.id] = asyncio.create_task(
                _run_node(plan, node, deps, known, sample, client, params, bindings,
                          structured)
            )
        traces = tuple(await asyncio.gather(*tasks.values()))
    finally:
        for task in tasks.values():
            task.cancel()
    return _finish(plan, sample, traces, bindings)


async def _run_node(
    plan: Plan,
    node: Node,
    deps: tuple[asyncio.Task[NodeTrace], ...],
    known: Mapping[str, Any],
    sample: Sample,
    client: ModelClient,
    params: Mapping[str, ParamValue],
    bindings: Bindings,
    structured: bool,
) -> NodeTrace:
    upstream = {t.node: t for t in await asyncio.gather(*deps)} if deps else {}
    if node.when:
        untaken = not_taken(node, upstream, known)
        if untaken is not None:
            return untaken
    if node.kind == "select":
        return select(node, upstream, known)
    if node.kind == "last":
        return last_run(node, upstream)
    if node.kind == "item":
        return take_item(node, upstream, known)
    if node.kind == "map":
        return collect(node, upstream, known)
    blocked = [t.node for t in upstream.values() if t.status != "ok"]
    if any(upstream[b].status == "untaken" for b in blocked):
        return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
    if blocked:
        return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                         error=f"not run: {blocked[0]} did not produce a value")
    args: dict[str, Any] = {}
    for binding in node.inputs:
        if binding.source in upstream:
            args[binding.name] = upstream[binding.source].value
        elif binding.source in known:
            args[binding.name] = known[binding.source]
        else:
            return NodeTrace(node.id, node.name, node.kind, node.step, "failed",
                             error=f"the sample has no value for {binding.source!r}")
    inputs = tuple(args.items())
    match node.kind:
        case "const":
            assert node.value_json is not None
            return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs,
                             value=json.loads(node.value_json))
        case "fn":
            return await _run_fn(node, args, bindings)
        case "field":
            return _run_field(node, args["record"])
        case "llm":
            return await _run_llm(plan, node, args, sample, client, params, bindings, structured)


async def _run_fn(node: Node, args: dict[str, Any], bindings: Bindings) -> NodeTrace:
    assert node.fn is not None
    function: Callable[..., Any] = bindings.functions[node.fn.ref]
    inputs = tuple(args.items())
    try:
        if bindings.is_user_code(node.fn.ref):
            result = await asyncio.to_thread(function, **args)
        else:
            result = function(**args)
    except (Exception, SystemExit) as exc:  # user code: any failure is the sample's
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs,
                         error=f"{node.fn.function} raised {type(exc).__name__}: {exc}")
    value = coerce(result, node.output_type)
    if isinstance(value, ValueFailure):
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs,
                         error=f"{node.fn.function} returned a wrong type: {value.message}")
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, value=value)


def _run_field(node: Node, record: Any) -> NodeTrace:
    inputs = (("record", record),)
    if not isinstance(record, dict) or node.field not in record:
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs,
                         error=f"{describe(record)} has no field {node.field!r}")
    value = coerce(record[node.field], node.output_type)
    if isinstance(value, ValueFailure):
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs,
                         error=f"the field {node.field!r} has a wrong type: {value.message}")
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, value=value)


async def _run_llm(
    plan: Plan,
    node: Node,
    args: dict[str, Any],
    sample: Sample,
    client: ModelClient,
    params: Mapping[str, ParamValue],
    bindings: Bindings,
    structured: bool,
) -> NodeTrace:
    assert node.llm is not None
    inputs = tuple(args.items())
    messages = render_messages(node.llm, params, args, plan.turn_demos)
    model = node.llm.bind(plan.model(node.llm.model))
    tools = node.llm.tools
    schema = output_schema(node.output_type) if structured and not tools else None
    request = build_request(model, messages, node=node.id, sample=sample.id, purpose="forward",
                            json_schema=schema,
                            tools=tool_definitions(tools, params) if tools else None)
    try:
        reply = await client.complete(request)
    except ModelError as exc:
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs, messages,
                         error=f"model call failed: {exc.reason}")
    except Exception as exc:  # a client bug must not take the whole batch down
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs, messages,
                         error=f"model call failed: unexpected {type(exc).__name__}: {exc}")
    call = CallInfo.of(model.model, reply)
    if tools:  # the model chose a tool: run it (a bad call is the step's result, not a failure)
        record, problem = await call_tool(tools, reply.text, bindings)
        return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, messages,
                         raw=reply.text, value=record, call=call, reply_mode="text",
                         error=None if problem is None else f"tool call: {problem}")
    value, mode = read_reply(reply.text, node, schema is not None, reply.structured == "schema")
    if isinstance(value, ValueFailure):
        return NodeTrace(node.id, node.name, node.kind, node.step, "failed", inputs, messages,
                         raw=reply.text, call=call, reply_mode=mode,
                         error=f"could not read the reply as {node.output_type}: {value.message}")
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, messages,
                     raw=reply.text, value=value, call=call, reply_mode=mode)


def read_reply(text: str, node: Node, wanted: bool, sent: bool) -> tuple[Any, ReplyMode]:
    """The reply's value (or a `ValueFailure`) and how it was read.

    `wanted`: a schema was asked for; `sent`: the client actually sent it to
    the provider. A reply that follows the schema is taken as it is, even
    from a provider that was not sent one; anything else goes to the
    tolerant text parser.
    """
    if wanted:
        value = read_structured(text, node.output_type)
        if not isinstance(value, ValueFailure):
            return value, "schema"
    mode: ReplyMode = "text" if not wanted else ("fallback" if sent else "unsent")
    return parse_text(text, node.output_type), mode


def _finish(
    plan: Plan, sample: Sample, traces: tuple[NodeTrace, ...], bindings: Bindings
) -> SampleResult:
    values: dict[str, Any] = sample.values()
    for trace in traces:
        if trace.status == "ok":
            values[trace.node] = trace.value
    error = _first_error(plan, traces)
    outputs = tuple((o.name, values[o.source]) for o in plan.outputs if o.source in values)
    targets = dict(sample.targets)
    losses: list[LossResult] = []
    for loss in plan.losses:
        if loss.target not in values:
            continue  # no target in this sample (e.g. `adfc run` without one): not scored
        if loss.pred in values:
            losses.append(score_loss(loss, bindings.metrics[loss.metric], values[loss.pred],
                                     values[loss.target]))
        elif error is not None and error.kind == "model":
            continue  # the model never answered: neither right nor wrong, so not scored
        else:
            reason = error or SampleError("input", f"no value for {loss.pred!r}")
            losses.append(failed_loss(loss, targets.get(loss.target, values[loss.target]), reason))
    losses = score_objectives(plan.objectives, losses)
    return SampleResult(sample, traces, outputs, tuple(losses), error)


def _first_error(plan: Plan, traces: tuple[NodeTrace, ...]) -> SampleError | None:
    for node, trace in zip(plan.nodes, traces, strict=True):
        if trace.status != "failed":
            continue
        message = trace.error or "failed"
        if node.kind == "llm":
            if message.startswith("model call failed"):
                return SampleError("model", message, node.id)
            return SampleError("parse", message, node.id)
        if node.kind in ("fn", "field"):
            return SampleError("function", message, node.id)
        return SampleError("input", message, node.id)
    return None

