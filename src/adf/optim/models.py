"""What the optimizer needs to know about the models of a plan.

Takes a plan; gives the number of model calls one forward pass makes, the
parameter kinds training asks feedback for and an upper bound for one
backward pass, the token limit a prompt parameter must
respect to leave room for the rest of its prompt, and a client wrapper that
relabels calls (teacher runs). Facts about one model (context window, token
estimates, training roles) live in `adf.llm.catalogue`.
"""

from __future__ import annotations

import attrs

from adf.llm.catalogue import bound_tokens, context_window, reply_cap
from adf.llm.protocol import ChatReply, ChatRequest, ModelClient, Purpose
from adf.plan.schema import ParamKind, Plan
from adf.records import replace


def forward_calls(plan: Plan) -> int:
    """Model calls in one forward pass of one sample."""
    return sum(1 for node in plan.nodes if node.kind == "llm")


# The parameter kinds training asks the backward engine about: demo sets are chosen by
# their own gate and never read feedback, so asking about them would be wasted tokens.
FEEDBACK_KINDS: tuple[ParamKind, ...] = ("prompt",)


def backward_calls(plan: Plan) -> int:
    """At most this many backward-engine calls for one failing sample in training."""
    from adf.runtime.backward import Graph

    return Graph.of(plan, FEEDBACK_KINDS).calls()


def param_token_limit(plan: Plan, param: str, initial: str) -> int:
    """How long a prompt parameter may grow and still fit every prompt that reads it."""
    limits: list[int] = []
    for node in plan.nodes:
        if node.llm is None:
            continue
        parts = node.llm.parts
        if not any(p.kind == "param" and p.param == param for p in parts):
            continue
        model = node.llm.bind(plan.model(node.llm.model))  # with its own `using m(...)` options
        window = context_window(model)
        if window is None:
            continue
        others = 0
        for part in parts:
            if part.kind == "text":
                others += bound_tokens(part.text)
            elif part.param != param:
                decl = plan.param(part.param)
                others += bound_tokens(decl.value) + 60 * len(decl.demos)
        room = window - reply_cap(model) - others - 200  # 200: a typical input
        limits.append(max(room // 2, 64))
    fallback = max(4 * bound_tokens(initial), 400)
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
        replace(node, llm=replace(node.llm, model=model)) if node.llm is not None else node
        for node in plan.nodes
    )
    return replace(plan, nodes=nodes)
