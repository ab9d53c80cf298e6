"""One shard of samples, forwarded the way a worker does it; no Ray here.

Takes a `ShardJob` (the samples of one shard, the parameter values, where
the shared reply cache is, the client settings) with the decoded plan and an
`Admission` (the cluster-wide gate: in-flight and per-window limits and the
budget, which the Ray governor actor serves); gives a `ShardOutcome`: the
sample results in shard order with their usage, the `CallTrace` of every call (so the driver's
accounting and `--trace` file see them) and a `LedgerEntry` per call (so the
driver's budget meter counts exactly what it would have counted had the
calls been made in its own process).

The worker forwards with `adf.runtime.engine.evaluate` itself, so a sample
gives the same result whichever executor ran it.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from adf.llm.cache import ReplyCache, cache_key
from adf.llm.calltrace import CallTrace, MemoryTrace
from adf.llm.client import LiteLLMClient
from adf.llm.protocol import ChatReply, ChatRequest, Purpose
from adf.optim.budget import BudgetExceeded
from adf.plan.schema import Plan
from adf.runtime.bindings import Bindings
from adf.runtime.data import Sample
from adf.runtime.engine import evaluate
from adf.runtime.template import ParamValue
from adf.runtime.trace import SampleResult
from adf.runtime.usage import Usage
from adf.scale.limits import Lease, Refusal


@attrs.frozen
class ClientSettings:
    """How a worker builds its model client."""

    cache_path: str | None  # absolute; None: no reply cache
    concurrency: int = 8  # samples in flight in one worker
    timeout_s: float = 120.0


@attrs.frozen
class ShardJob:
    index: int  # the shard's place in the evaluation
    samples: tuple[Sample, ...]
    params: tuple[tuple[str, ParamValue], ...]
    client: ClientSettings
    abort_after: int | None = 8
    structured: bool = True


@attrs.frozen
class LedgerEntry:
    """One call as the driver's budget meter records it."""

    purpose: Purpose
    reply: ChatReply | None  # None: the call failed
    refused: bool = False  # refused by the budget before it was made


@attrs.frozen
class ShardOutcome:
    index: int
    results: tuple[SampleResult, ...]
    params: tuple[tuple[str, ParamValue], ...]  # the values the evaluation used
    usage: Usage
    traces: tuple[CallTrace, ...]
    ledger: tuple[LedgerEntry, ...]


class Admission(Protocol):
    """The cluster-wide gate as a worker sees it (the governor actor, or a local one)."""

    async def acquire(self, key: str, provider: bool) -> Lease | Refusal: ...

    async def release(self, lease: Lease, tokens: int, usd: float) -> None: ...


class GovernedClient:
    """A `ModelClient` that asks the cluster-wide gate before every call.

    A call the shared cache will answer asks only for budget; a call that goes
    to the provider also waits for an in-flight slot and a per-window start.
    """

    def __init__(self, inner: LiteLLMClient, admission: Admission) -> None:
        self.inner = inner
        self.admission = admission
        self.ledger: list[LedgerEntry] = []

    async def complete(self, request: ChatRequest) -> ChatReply:
        cache = self.inner.cache
        cached = cache is not None and cache.enabled and cache.get(cache_key(request)) is not None
        key = f"{request.model}@{request.api_base or ''}"
        lease = await self.admission.acquire(key, not cached)
        if isinstance(lease, Refusal):
            self.ledger.append(LedgerEntry(request.purpose, None, refused=True))
            raise BudgetExceeded(lease.limit, lease.detail)
        reply: ChatReply | None = None
        try:
            reply = await self.inner.complete(request)
        finally:
            tokens = 0 if reply is None else reply.prompt_tokens + reply.completion_tokens
            usd = 0.0 if reply is None or reply.cached else reply.cost_usd or 0.0
            await self.admission.release(lease, tokens, usd)
            self.ledger.append(LedgerEntry(request.purpose, reply))
        return reply


async def run_shard(
    plan: Plan, bindings: Bindings, job: ShardJob, admission: Admission,
) -> ShardOutcome:
    """Forward and score one shard; see the module docstring."""
    traces = MemoryTrace()
    cache = ReplyCache(job.client.cache_path, enabled=job.client.cache_path is not None)
    inner = LiteLLMClient(cache=cache, sinks=[traces], concurrency=job.client.concurrency,
                          timeout_s=job.client.timeout_s)
    client = GovernedClient(inner, admission)
    try:
        result = await evaluate(plan, job.samples, client, params=dict(job.params),
                                bindings=bindings, concurrency=job.client.concurrency,
                                abort_after=job.abort_after, structured=job.structured)
    finally:
        cache.close()
    return ShardOutcome(job.index, result.samples, result.params, result.usage,
                        tuple(traces.records), tuple(client.ledger))
