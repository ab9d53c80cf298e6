"""Training budgets: limits, counters, and a model client that enforces them.

Takes the user's limits (steps, calls, tokens, dollars) and wraps any
`ModelClient`; gives `Meter` (counters by purpose, kept in checkpoints),
`BudgetedClient` (checks the meter *before* every call and refuses the call
that would break a limit) and `BudgetExceeded` (which limit, for the
"stopped at budget" message).

What counts: every request the workflow makes is one call, whether the
provider answers it or the cache does, and its reported tokens count too.
That keeps a run's accounting identical when it is resumed and part of a
step is replayed from the cache, so `--max-calls N` bounds the requests,
and therefore the provider calls, of a run. Dollars count only what was
really paid (cache hits are free). Callers that know how many calls a
phase needs `reserve` them first, so a phase that cannot finish within the
limit is not started at all.
"""

from __future__ import annotations

from typing import Any

import attrs

from adf.llm.protocol import ChatReply, ChatRequest, ModelClient

PURPOSES = ("forward", "backward", "optimizer", "teacher")


@attrs.frozen
class Limits:
    max_steps: int | None = None
    max_calls: int | None = None
    max_tokens: int | None = None
    max_usd: float | None = None


class BudgetExceeded(Exception):
    """A call or phase refused because it would break a limit."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"{limit} budget reached: {detail}")
        self.limit = limit
        self.detail = detail


@attrs.define
class Counts:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "cache_hits": self.cache_hits,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Counts:
        return Counts(
            calls=int(data.get("calls", 0)),
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            cache_hits=int(data.get("cache_hits", 0)),
        )


@attrs.define
class Meter:
    """Running totals, by purpose; `reserved` calls are promised to a running phase."""

    limits: Limits
    by_purpose: dict[str, Counts] = attrs.field(factory=lambda: {p: Counts() for p in PURPOSES})
    reserved: int = 0  # promised to the phase now running; its calls use it up
    held: int = 0  # set aside for later (e.g. the final test evaluation)
    refused: int = 0

    def total(self) -> Counts:
        out = Counts()
        for counts in self.by_purpose.values():
            out.calls += counts.calls
            out.prompt_tokens += counts.prompt_tokens
            out.completion_tokens += counts.completion_tokens
            out.cost_usd += counts.cost_usd
            out.cache_hits += counts.cache_hits
        return out

    def calls_left(self) -> int | None:
        if self.limits.max_calls is None:
            return None
        return self.limits.max_calls - self.total().calls - self.reserved - self.held

    def check(self, extra_calls: int = 1) -> None:
        """Raise `BudgetExceeded` if `extra_calls` more calls would break a limit."""
        total = self.total()
        limits = self.limits
        committed = total.calls + self.reserved + self.held
        if limits.max_calls is not None and committed + extra_calls > limits.max_calls:
            promised = ""
            if self.reserved or self.held:
                promised = (f", {self.reserved} promised to the running phase and {self.held} "
                            "kept for the final test evaluation")
            raise BudgetExceeded(
                "calls",
                f"{total.calls} of {limits.max_calls} calls used{promised}; "
                f"the next phase needs {extra_calls} more",
            )
        if limits.max_tokens is not None and total.tokens >= limits.max_tokens:
            raise BudgetExceeded("tokens", f"{total.tokens} of {limits.max_tokens} tokens used")
        if limits.max_usd is not None and total.cost_usd >= limits.max_usd:
            raise BudgetExceeded("usd", f"${total.cost_usd:.4f} of ${limits.max_usd:.4f} spent")

    def reserve(self, calls: int) -> int:
        """Promise `calls` calls to a phase (raises if they do not fit); returns the amount."""
        self.check(calls)
        self.reserved += calls
        return calls

    def release(self) -> None:
        """End the running phase: whatever it did not use is free again."""
        self.reserved = 0

    def hold(self, calls: int) -> None:
        """Set `calls` aside for a later phase (raises if they do not fit)."""
        self.check(calls)
        self.held += calls

    def unhold(self) -> None:
        self.held = 0

    def record(self, purpose: str, reply: ChatReply, *, from_reservation: bool) -> None:
        counts = self.by_purpose.setdefault(purpose, Counts())
        counts.calls += 1
        counts.prompt_tokens += reply.prompt_tokens
        counts.completion_tokens += reply.completion_tokens
        if reply.cached:
            counts.cache_hits += 1
        elif reply.cost_usd is not None:
            counts.cost_usd += reply.cost_usd
        if from_reservation and self.reserved > 0:
            self.reserved -= 1

    def record_failure(self, purpose: str, *, from_reservation: bool) -> None:
        counts = self.by_purpose.setdefault(purpose, Counts())
        counts.calls += 1
        if from_reservation and self.reserved > 0:
            self.reserved -= 1

    def to_json(self) -> dict[str, Any]:
        return {"by_purpose": {p: c.to_json() for p, c in self.by_purpose.items()},
                "refused": self.refused}

    def load_json(self, data: dict[str, Any]) -> None:
        self.by_purpose = {p: Counts.from_json(c) for p, c in data["by_purpose"].items()}
        for purpose in PURPOSES:
            self.by_purpose.setdefault(purpose, Counts())
        self.refused = int(data.get("refused", 0))
        self.reserved = 0
        self.held = 0


class BudgetedClient:
    """A `ModelClient` that counts every call and refuses one that would break a limit.

    Calls made while the meter holds a reservation use it up; other calls
    must fit in what is left after all reservations.
    """

    def __init__(self, inner: ModelClient, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter

    async def complete(self, request: ChatRequest) -> ChatReply:
        meter = self.meter
        from_reservation = meter.reserved > 0
        if not from_reservation:
            try:
                meter.check(1)
            except BudgetExceeded:
                meter.refused += 1
                raise
        try:
            reply = await self.inner.complete(request)
        except BaseException:
            meter.record_failure(request.purpose, from_reservation=from_reservation)
            raise
        meter.record(request.purpose, reply, from_reservation=from_reservation)
        return reply
