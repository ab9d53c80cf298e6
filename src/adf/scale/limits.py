"""Cluster-wide admission of model calls: in flight, per window, and the budget.

Takes `ClusterLimits` (provider calls in flight per endpoint, requests per
window per endpoint) and, for each evaluation, an `Allowance` (provider
requests, tokens and dollars the driver's budget still permits); gives
`Gate`, the bookkeeping one shared service (the Ray governor actor) keeps
for every worker: `admit` answers a slot (`Lease`) or how long to wait for
one; `request` counts one provider request (retries included) against the
window and the budget, or says how long to wait, or refuses with a
`Refusal` naming the limit; `finish` returns the slot with the tokens and
dollars the call spent. `Gate` is pure and clock-free (the caller passes
`now`); `GateService` puts it behind an asyncio condition so callers wait
for their turn (the Ray governor actor is a `GateService`).

What counts, as in the driver's `Meter`: provider requests (cache hits send
none), tokens of every answered call (cache hits included), dollars paid.
A slot not returned in `lease_s` (its worker died) is taken back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

import attrs


@attrs.frozen
class ClusterLimits:
    concurrency: int = 8  # provider calls in flight per endpoint, all workers together
    per_window: int | None = None  # provider requests started per window per endpoint
    window_s: float = 60.0
    lease_s: float = 600.0  # a slot held longer than this is taken back (its worker died)


@attrs.frozen
class Allowance:
    """What the driver's budget permits the evaluation now running (None: no limit)."""

    requests: int | None = None  # provider requests, retries included
    tokens: int | None = None
    usd: float | None = None


@attrs.frozen
class Refusal:
    limit: str  # "calls", "tokens" or "usd", as in `BudgetExceeded`
    detail: str


@attrs.frozen
class Lease:
    ident: int
    key: str


class Gate:
    """The admission state shared by all workers; see the module docstring."""

    def __init__(self, limits: ClusterLimits) -> None:
        self.limits = limits
        self.allowance = Allowance()
        self.requests = 0
        self.tokens = 0
        self.usd = 0.0
        self._next = 0
        self._held: dict[str, dict[int, float]] = {}  # key -> lease id -> expiry
        self._starts: dict[str, deque[float]] = {}

    def open(self, allowance: Allowance) -> None:
        """Start an evaluation: its allowance, counted from zero."""
        self.allowance = allowance
        self.requests = self.tokens = 0
        self.usd = 0.0

    def admit(self, key: str, now: float) -> Lease | float:
        """A slot for one provider call, or seconds to wait (until a slot's expiry)."""
        held = self._held.setdefault(key, {})
        for ident in [i for i, expiry in held.items() if expiry <= now]:
            del held[ident]
        if len(held) >= self.limits.concurrency:
            return max(min(held.values()) - now, 1e-3)
        self._next += 1
        held[self._next] = now + self.limits.lease_s
        return Lease(self._next, key)

    def request(self, key: str, now: float) -> Refusal | float | None:
        """Count one provider request (None), or seconds to wait, or a refusal."""
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        starts = self._starts.setdefault(key, deque())
        while starts and starts[0] <= now - self.limits.window_s:
            starts.popleft()
        if self.limits.per_window is not None and len(starts) >= self.limits.per_window:
            return max(starts[0] + self.limits.window_s - now, 1e-3)
        starts.append(now)
        self.requests += 1
        return None

    def finish(self, lease: Lease | None, *, tokens: int = 0, usd: float = 0.0) -> None:
        """A call ended: its slot (None for a cache hit) comes back, its spending counts."""
        if lease is not None:
            self._held.get(lease.key, {}).pop(lease.ident, None)
        self.tokens += tokens
        self.usd += usd

    def in_flight(self, key: str) -> int:
        return len(self._held.get(key, {}))

    def _refusal(self) -> Refusal | None:
        allowed = self.allowance
        if allowed.requests is not None and self.requests + 1 > allowed.requests:
            return Refusal("calls", f"the {allowed.requests} provider requests left for this "
                                    "evaluation are used")
        if allowed.tokens is not None and self.tokens >= allowed.tokens:
            return Refusal("tokens", f"the {allowed.tokens} tokens left for this evaluation "
                                     "are used")
        if allowed.usd is not None and self.usd >= allowed.usd:
            return Refusal("usd", f"the ${allowed.usd:.4f} left for this evaluation is spent")
        return None


class GateService:
    """`Gate` for concurrent callers: `acquire` and `request` wait their turn."""

    def __init__(self, limits: ClusterLimits) -> None:
        self.gate = Gate(limits)
        self._turn: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._turn is None:
            self._turn = asyncio.Condition()
        return self._turn

    async def open(self, allowance: Allowance) -> None:
        self.gate.open(allowance)

    async def acquire(self, key: str) -> Lease:
        turn = self._condition()
        async with turn:
            while True:
                got = self.gate.admit(key, time.monotonic())
                if isinstance(got, Lease):
                    return got
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(turn.wait(), timeout=got)

    async def request(self, key: str) -> Refusal | None:
        turn = self._condition()
        async with turn:
            while True:
                got = self.gate.request(key, time.monotonic())
                if not isinstance(got, float):
                    return got
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(turn.wait(), timeout=got)

    async def release(self, lease: Lease | None, tokens: int, usd: float) -> None:
        turn = self._condition()
        async with turn:
            self.gate.finish(lease, tokens=tokens, usd=usd)
            turn.notify_all()

    async def spent(self) -> tuple[int, int, float]:
        """Provider requests, tokens and dollars counted since the last `open`."""
        return self.gate.requests, self.gate.tokens, self.gate.usd
