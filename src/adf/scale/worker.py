"""One shard of samples, forwarded the way a worker does it; no Ray here.

Takes a `ShardJob` (the samples of one shard, the parameter values, where
the shared reply cache is, the client settings) with the decoded plan and an
`Admission` (the cluster-wide gate: in-flight and per-window limits and the
budget, which the Ray governor actor serves); gives a `ShardOutcome`: the
sample results in shard order, the `CallTrace` of every call with the
provider requests it sent (so the driver's accounting, `--trace` file and
budget meter count exactly what they would have counted had the calls been
made in the driver's process) and how many requests the budget refused.

The worker forwards with `adf.runtime.engine.evaluate` itself, so a sample
gives the same result whichever executor ran it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import attrs

from adf.llm.cache import ReplyCache, cache_key
from adf.llm.calltrace import CallTrace, MemoryTrace
from adf.llm.client import LiteLLMClient
from adf.llm.protocol import ChatReply, ChatRequest
from adf.llm.usage import Usage
from adf.optim.budget import BudgetExceeded
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Plan
from adf.runtime.bindings import Bindings
from adf.runtime.data import Sample
from adf.runtime.engine import evaluate
from adf.runtime.trace import SampleResult
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
class ShardOutcome:
    index: int
    results: tuple[SampleResult, ...]
    params: tuple[tuple[str, ParamValue], ...]  # the values the evaluation used
    traces: tuple[CallTrace, ...]  # every call, with the provider requests it sent
    refused: int  # provider requests the budget refused


class Admission(Protocol):
    """The cluster-wide gate as a worker sees it (the governor actor, or a local one)."""

    async def acquire(self, key: str) -> Lease: ...

    async def request(self, key: str) -> Refusal | None: ...

    async def release(self, lease: Lease | None, tokens: int, usd: float) -> None: ...


class GovernedClient:
    """A `ModelClient` that keeps the cluster-wide limits.

    A call the shared cache will not answer first takes an in-flight slot;
    every provider request it sends (retries included) is then admitted by
    the window and the budget, through the client's request gate. Tokens
    and dollars go back to the gate when the call ends.
    """

    def __init__(self, inner: LiteLLMClient, admission: Admission) -> None:
        self.inner = inner
        self.admission = admission
        self.refused = 0
        inner.add_gate(self._request)

    async def _admit_request(self, request: ChatRequest) -> None:
        refusal = await self.admission.request(_endpoint(request))
        if refusal is not None:
            self.refused += 1
            raise BudgetExceeded(refusal.limit, refusal.detail)

    def _request(self, request: ChatRequest, attempt: int) -> Awaitable[None]:
        return self._admit_request(request)

    async def complete(self, request: ChatRequest) -> ChatReply:
        cache = self.inner.cache
        cached = cache is not None and cache.enabled and cache.get(cache_key(request)) is not None
        lease = None if cached else await self.admission.acquire(_endpoint(request))
        reply: ChatReply | None = None
        try:
            reply = await self.inner.complete(request)
        finally:
            usage = Usage() if reply is None else Usage.of_reply(reply)
            await self.admission.release(lease, usage.tokens, usage.cost_usd or 0.0)
        return reply


def _endpoint(request: ChatRequest) -> str:
    return f"{request.model}@{request.api_base or ''}"


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
    return ShardOutcome(job.index, result.samples, result.params, tuple(traces.records),
                        client.refused)
