"""Cluster-wide admission of model calls: in flight, per window, and the budget.

Takes `ClusterLimits` (calls in flight per endpoint, requests per window per
endpoint) and, for each evaluation, an `Allowance` (calls, tokens and dollars
the driver's budget still permits); gives `Gate`, the bookkeeping one shared
service (the Ray governor actor) keeps for every worker: `admit` answers a
lease, a number of seconds to wait, or a `Refusal` naming the limit; `finish`
returns the lease with what the call spent. `Gate` is pure and clock-free
(the caller passes `now`); `GateService` puts it behind an asyncio condition
so callers wait for their turn (the Ray governor actor is a `GateService`).

What counts, as in the driver's `Meter`: every call is one call against the
allowance, whether the provider or the cache answers it; tokens count as
reported; dollars only when paid. Calls the cache will answer skip the
in-flight and per-window limits (they send nothing to the provider). A lease
not returned in `lease_s` (its worker died) stops holding its slot.
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

    calls: int | None = None
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
    provider: bool  # holds an in-flight slot


class Gate:
    """The admission state shared by all workers; see the module docstring."""

    def __init__(self, limits: ClusterLimits) -> None:
        self.limits = limits
        self.allowance = Allowance()
        self.calls = 0
        self.tokens = 0
        self.usd = 0.0
        self._next = 0
        self._held: dict[str, dict[int, float]] = {}  # key -> lease id -> expiry
        self._starts: dict[str, deque[float]] = {}

    def open(self, allowance: Allowance) -> None:
        """Start an evaluation: its allowance, counted from zero."""
        self.allowance = allowance
        self.calls = self.tokens = 0
        self.usd = 0.0

    def admit(self, key: str, now: float, *, provider: bool = True) -> Lease | float | Refusal:
        """A lease, or seconds to wait before asking again (0: until a lease returns)."""
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        if provider:
            held = self._held.setdefault(key, {})
            for ident in [i for i, expiry in held.items() if expiry <= now]:
                del held[ident]
            if len(held) >= self.limits.concurrency:
                return min(held.values()) - now if held else 0.0
            starts = self._starts.setdefault(key, deque())
            while starts and starts[0] <= now - self.limits.window_s:
                starts.popleft()
            if self.limits.per_window is not None and len(starts) >= self.limits.per_window:
                return max(starts[0] + self.limits.window_s - now, 1e-3)
            starts.append(now)
            self._next += 1
            held[self._next] = now + self.limits.lease_s
        else:
            self._next += 1
        self.calls += 1
        return Lease(self._next, key, provider)

    def finish(self, lease: Lease, *, tokens: int = 0, usd: float = 0.0) -> None:
        if lease.provider:
            self._held.get(lease.key, {}).pop(lease.ident, None)
        self.tokens += tokens
        self.usd += usd

    def in_flight(self, key: str) -> int:
        return len(self._held.get(key, {}))

    def _refusal(self) -> Refusal | None:
        allowed = self.allowance
        if allowed.calls is not None and self.calls + 1 > allowed.calls:
            return Refusal("calls", f"the {allowed.calls} calls left for this evaluation are used")
        if allowed.tokens is not None and self.tokens >= allowed.tokens:
            return Refusal("tokens", f"the {allowed.tokens} tokens left for this evaluation "
                                     "are used")
        if allowed.usd is not None and self.usd >= allowed.usd:
            return Refusal("usd", f"the ${allowed.usd:.4f} left for this evaluation is spent")
        return None


class GateService:
    """`Gate` for concurrent callers: `acquire` waits until a lease or a refusal."""

    def __init__(self, limits: ClusterLimits) -> None:
        self.gate = Gate(limits)
        self._turn: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._turn is None:
            self._turn = asyncio.Condition()
        return self._turn

    async def open(self, allowance: Allowance) -> None:
        self.gate.open(allowance)

    async def acquire(self, key: str, provider: bool) -> Lease | Refusal:
        turn = self._condition()
        async with turn:
            while True:
                got = self.gate.admit(key, time.monotonic(), provider=provider)
                if not isinstance(got, float):
                    return got
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(turn.wait(), timeout=got if got > 0 else None)

    async def release(self, lease: Lease, tokens: int, usd: float) -> None:
        turn = self._condition()
        async with turn:
            self.gate.finish(lease, tokens=tokens, usd=usd)
            turn.notify_all()

    async def spent(self) -> tuple[int, int, float]:
        """Calls, tokens and dollars counted since the last `open`."""
        return self.gate.calls, self.gate.tokens, self.gate.usd
