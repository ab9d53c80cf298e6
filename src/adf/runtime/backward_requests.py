"""The requests of the backward pass: one review of an llm node, one blame call for a
function with several trained inputs.

Takes the backward `Context`, the node, its trace and the feedback that arrived;
gives a `ChatRequest` built by the one request builder, with a JSON reply schema
(one key per target) and the reviewed prompt cut in the middle, said in place,
when the review would not fit the backward model's context.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adf.llm.catalogue import BOUND_CHARS_PER_TOKEN, bound_messages, context_window
from adf.llm.protocol import ChatRequest, Message
from adf.llm.requests import build_request
from adf.plan.schema import ModelDecl, Node, Plan
from adf.prompts import load as load_prompt
from adf.runtime.template import fill, render_param
from adf.runtime.tools import described_tool, show_call, show_tools
from adf.runtime.trace import NodeTrace
from adf.runtime.values import render

if TYPE_CHECKING:
    from adf.runtime.backward import Context, Gradient


def backward_request(
    context: Context,
    node: Node,
    trace: NodeTrace,
    arrived: tuple[Gradient, ...],
    keys: Mapping[str, tuple[str, str]],
) -> ChatRequest:
    assert node.llm is not None
    plan = context.graph.plan
    inputs = dict(trace.inputs)
    by_source = {b.source: b.name for b in node.inputs}
    targets: list[str] = []
    for key, (role, name) in keys.items():
        if role == "param":
            decl = plan.param(name)
            template = "backward_target_demos" if decl.kind == "demos" else "backward_target_param"
            role = decl.description or decl.kind
            tool = described_tool(node, name)
            if tool is not None:
                role = f"the description of the tool `{tool}`; {role}"
            targets.append(fill(load_prompt(template), {
                "key": key, "name": name, "description": role,
                "value": render_param(context.params[name]) or "(none yet)",
            }))
        else:
            arg = by_source[name]
            targets.append(fill(load_prompt("backward_target_input"), {
                "key": key, "name": arg, "value": render(inputs.get(arg, "")),
            }))
    feedback = _feedback_text(arrived)
    model = context.engine or plan.model(node.llm.model)
    shown = _show_messages(trace.messages)
    output = trace.raw or "(empty)"
    if node.llm.tools:
        shown += "\n\n" + show_tools(node, context.params)
        output = show_call(trace.value, trace.raw)

    def request_with(prompt: str) -> ChatRequest:
        user = fill(load_prompt("backward_user"), {
            "node": node.id,
            "prompt": prompt,
            "output": output,
            "feedback": feedback,
            "targets": "\n".join(targets),
            "keys": ", ".join(json.dumps(k) for k in keys),
        })
        messages = (Message("system", load_prompt("backward_system")), Message("user", user))
        return build_request(
            model, messages, node=node.id, sample=context.sample.sample.id, purpose="backward",
            json_schema=reply_schema(list(keys)), max_tokens=80 * len(keys) + 40,
        )

    request = request_with(shown)
    overflow = _overflow(request, model)
    return request if overflow <= 0 else request_with(fit_shown_prompt(shown, overflow))


def _feedback_text(arrived: tuple[Gradient, ...]) -> str:
    """The downstream feedback a node received, numbered when there is more than one."""
    if len(arrived) == 1:
        feedback = arrived[0].text
    else:
        feedback = "\n".join(f"{i}. {g.text}" for i, g in enumerate(arrived, start=1))
    via = unique(step for g in arrived for step in g.via)
    if via:
        feedback += "\n(Its answer was passed on through " + " -> ".join(via) + ".)"
    return feedback


def blame_request(context: Context, node: Node, trace: NodeTrace, arrived: tuple[Gradient, ...],
                  keys: Mapping[str, str]) -> ChatRequest:
    """One call asking which of a function's inputs made its result wrong."""
    assert node.fn is not None
    plan = context.graph.plan
    inputs = dict(trace.inputs)
    targets = [fill(load_prompt("backward_target_input"), {
        "key": key, "name": key, "value": render(inputs.get(key, "")),
    }) for key in keys]
    user = fill(load_prompt("backward_blame_user"), {
        "node": node.id,
        "function": node.fn.ref.removeprefix("py:"),
        "inputs": "\n".join(f"- {name}: {render(value)}" for name, value in trace.inputs),
        "output": render(trace.value) if trace.error is None else f"(failed: {trace.error})",
        "feedback": _feedback_text(arrived),
        "targets": "\n".join(targets),
        "keys": ", ".join(json.dumps(k) for k in keys),
    })
    messages = (Message("system", load_prompt("backward_system")), Message("user", user))
    return build_request(
        context.engine or _producer_model(plan, keys.values()), messages, node=node.id,
        sample=context.sample.sample.id, purpose="backward",
        json_schema=reply_schema(list(keys)), max_tokens=80 * len(keys) + 40)


def _producer_model(plan: Plan, sources: Iterable[str]) -> ModelDecl:
    """Without a declared backward engine: the model of the first llm node among `sources`."""
    by_id = {n.id: n for n in plan.nodes}
    for source in sources:
        node = by_id.get(source)
        if node is not None and node.llm is not None:
            return plan.model(node.llm.model)
    return plan.models[0]


def _overflow(request: ChatRequest, model: ModelDecl) -> int:
    """Tokens by which prompt + reply cap exceed the backward model's context (<= 0: fits)."""
    window = context_window(model)
    if window is None:
        return 0
    return bound_messages(request.messages) + (request.max_tokens or 0) - window


def fit_shown_prompt(shown: str, overflow_tokens: int) -> str:
    """Cut the middle of the reviewed prompt so the review fits the context.

    The head (instructions) and the tail (this sample's input) matter most for
    feedback; what is left out is said in place, never cut silently, so the
    trace of the call shows the trim.
    """
    cut = math.ceil((overflow_tokens + 8) * BOUND_CHARS_PER_TOKEN) + 120  # room for the marker
    keep = max(len(shown) - cut, 0)
    head = shown[: keep // 2]
    tail = shown[len(shown) - (keep - keep // 2):] if keep else ""
    left_out = len(shown) - len(head) - len(tail)
    marker = f"[... {left_out} characters of this prompt left out to fit the context ...]"
    return f"{head}\n{marker}\n{tail}"


def reply_schema(keys: Sequence[str]) -> str:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key: {"type": "string"} for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _show_messages(messages: tuple[Message, ...]) -> str:
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)


def unique(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
