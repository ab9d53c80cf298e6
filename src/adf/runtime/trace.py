"""What one forward pass of one sample did, node by node.

Takes nothing; gives the frozen records the forward pass writes and the
backward pass, the trainer and the CLI read: `CallInfo` (one model call's
tokens, cost, latency, cache hit, retries), `NodeTrace` (one node of the
unrolled graph: its inputs, rendered messages, raw output, parsed value or
error, and for llm nodes how the reply was read: `reply_mode`),
`LossResult`, `SampleError` and `SampleResult`. Node traces are kept
in the plan's topological order, whatever order the nodes actually ran in,
so a trace never depends on scheduling.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from adf.llm.protocol import ChatReply, Message
from adf.plan.schema import NodeKind
from adf.runtime.data import Sample

NodeStatus = Literal["ok", "failed", "skipped"]
# How an llm node's reply was read:
#   "text"     free text by design (a `str` output, or structured outputs switched off);
#              the tolerant text parser read it
#   "schema"   a JSON schema was sent and the reply followed it
#   "fallback" a JSON schema was sent, the reply ignored it; the tolerant text parser read it
#   "unsent"   a schema was wanted but the provider takes none; the tolerant text parser read it
ReplyMode = Literal["text", "schema", "fallback", "unsent"]
ErrorKind = Literal["parse", "function", "model", "metric", "input"]


@attrs.frozen
class CallInfo:
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cached: bool
    latency_s: float
    retries: int

    @staticmethod
    def of(model: str, reply: ChatReply) -> CallInfo:
        return CallInfo(model, reply.prompt_tokens, reply.completion_tokens, reply.cost_usd,
                        reply.cached, reply.latency_s, reply.retries)


@attrs.frozen
class NodeTrace:
    node: str
    name: str
    kind: NodeKind
    step: int | None
    status: NodeStatus
    inputs: tuple[tuple[str, Any], ...] = ()
    messages: tuple[Message, ...] = ()
    raw: str | None = None
    value: Any = None
    error: str | None = None
    call: CallInfo | None = None
    reply_mode: ReplyMode | None = None  # llm nodes that got a reply; see `ReplyMode`

    def to_json(self) -> dict[str, Any]:
        """This node's trace as JSON-ready data (what `adfc run --json` and the API show)."""
        call = self.call
        return {
            "node": self.node, "kind": self.kind, "step": self.step, "status": self.status,
            "inputs": dict(self.inputs),
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "raw": self.raw, "value": self.value, "error": self.error,
            "reply_mode": self.reply_mode,
            "call": None if call is None else {
                "model": call.model, "prompt_tokens": call.prompt_tokens,
                "completion_tokens": call.completion_tokens, "cost_usd": call.cost_usd,
                "cached": call.cached, "latency_s": round(call.latency_s, 4),
                "retries": call.retries,
            },
        }


@attrs.frozen
class SampleError:
    """Why a sample has no prediction: the first failing node in plan order."""

    kind: ErrorKind
    message: str
    node: str | None = None


@attrs.frozen
class LossResult:
    name: str
    metric: str
    score: float
    message: str
    pred: Any = None
    target: Any = None
    error: str | None = None  # the metric itself failed, or the prediction was never made


@attrs.frozen
class SampleResult:
    sample: Sample
    nodes: tuple[NodeTrace, ...]
    outputs: tuple[tuple[str, Any], ...]
    losses: tuple[LossResult, ...]
    error: SampleError | None

    @property
    def call_failed(self) -> bool:
        """A model call failed for good (after its retries): the sample is not scored."""
        return self.error is not None and self.error.kind == "model" and not self.losses

    @property
    def score(self) -> float | None:
        """Mean of the loss scores; None when nothing was scored (no targets, no losses, or
        a model call that failed after its retries kept the prediction from being made)."""
        if not self.losses:
            return None
        return sum(loss.score for loss in self.losses) / len(self.losses)

    def node(self, node_id: str) -> NodeTrace:
        for trace in self.nodes:
            if trace.node == node_id:
                return trace
        raise KeyError(node_id)

    def calls(self) -> tuple[CallInfo, ...]:
        return tuple(t.call for t in self.nodes if t.call is not None)
