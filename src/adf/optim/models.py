"""What the optimizer needs to know about the models of a plan.

Takes a plan; gives the model declaration for each training role, each
model's context window (a `context:` option, else litellm's model table,
else unknown), whether a model's provider honours a JSON schema (so the
optimizer prompt can ask for the matching format), the number of model
calls one forward pass makes, an upper bound for one backward pass, the
token limit a prompt parameter must respect to leave room for the rest of
its prompt, and a client wrapper that relabels calls (teacher runs).
"""

from __future__ import annotations

import os

import attrs

from adf.llm.protocol import ChatReply, ChatRequest, ModelClient, Purpose
from adf.optim.context import approx_tokens
from adf.plan.schema import ModelDecl, Plan

LOCAL_MODEL = "openai/local"


def role_model(plan: Plan, role: str) -> ModelDecl | None:
    """The declared model for `backward`, `optimizer` or `teacher`; None if not declared."""
    training = plan.training
    if training is None:
        return None
    name = {"backward": training.backward_model, "optimizer": training.optimizer_model,
            "teacher": training.teacher_model}.get(role)
    return plan.model(name) if name else None


def default_model(plan: Plan) -> ModelDecl:
    """The model of the first llm node (or the first declared model)."""
    for node in plan.nodes:
        if node.llm is not None:
            return plan.model(node.llm.model)
    return plan.models[0]


def context_window(model: ModelDecl) -> int | None:
    options = dict(model.options)
    declared = options.get("context")
    if isinstance(declared, int) and not isinstance(declared, bool) and declared > 0:
        return declared
    if model.model == LOCAL_MODEL or model.model == "local":
        return 2048
    from adf.llm.catalogue import known_context

    return known_context(model.model)


def honours_schema(model: ModelDecl) -> bool:
    options = dict(model.options)
    forced = options.get("structured")
    if isinstance(forced, str):
        return forced in ("json_schema", "json_object")
    if model.model in (LOCAL_MODEL, "local"):
        return True
    try:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        return bool(litellm.supports_response_schema(model=model.model))
    except Exception:
        return False


def forward_calls(plan: Plan) -> int:
    """Model calls in one forward pass of one sample."""
    return sum(1 for node in plan.nodes if node.kind == "llm")


def backward_calls(plan: Plan) -> int:
    """At most this many backward-engine calls for one failing sample."""
    from adf.runtime.backward import Graph

    graph = Graph.of(plan)
    return sum(1 for node in plan.nodes if node.kind == "llm" and node.id in graph.carries)


def max_reply_tokens(model: ModelDecl, default: int = 256) -> int:
    value = dict(model.options).get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def param_token_limit(plan: Plan, param: str, initial: str) -> int:
    """How long a prompt parameter may grow and still fit every prompt that reads it."""
    limits: list[int] = []
    for node in plan.nodes:
        if node.llm is None:
            continue
        parts = (*node.llm.system, *node.llm.user)
        if not any(p.kind == "param" and p.param == param for p in parts):
            continue
        model = plan.model(node.llm.model)
        window = context_window(model)
        if window is None:
            continue
        others = 0
        for part in parts:
            if part.kind == "text":
                others += approx_tokens(part.text)
            elif part.param != param:
                decl = plan.param(part.param)
                others += approx_tokens(decl.value) + 60 * len(decl.demos)
        room = window - max_reply_tokens(model) - others - 200  # 200: a typical input
        limits.append(max(room // 2, 64))
    fallback = max(4 * approx_tokens(initial), 400)
    return min(limits) if limits else fallback


class RelabeledClient:
    """Passes calls on with `purpose` set, so teacher runs are counted as teacher calls."""

    def __init__(self, inner: ModelClient, purpose: Purpose) -> None:
        self.inner = inner
        self.purpose = purpose

    async def complete(self, request: ChatRequest) -> ChatReply:
        return await self.inner.complete(attrs.evolve(request, purpose=self.purpose))


def with_model(plan: Plan, model: str) -> Plan:
    """The plan with every llm node calling `model` (a declared model name)."""
    nodes = tuple(
        attrs.evolve(node, llm=attrs.evolve(node.llm, model=model)) if node.llm is not None else node
        for node in plan.nodes
    )
    return attrs.evolve(plan, nodes=nodes)
