"""Training budgets: limits, the meter, and a model client that enforces them.

Takes the user's limits (steps, provider requests, tokens, dollars) and
wraps any `ModelClient`; gives `Meter` (one `adf.llm.usage.Usage` per
purpose, kept in checkpoints), `BudgetedClient` and `BudgetExceeded` (which
limit, for the "stopped at budget" message).

`--max-calls N` bounds the requests sent to providers, retries included,
and is never exceeded: the budgeted client asks the meter before *every*
provider request (a gate on the litellm client, so each retry is asked
too) and the meter refuses the one that would go over. Cache hits send no
request and cost nothing. Tokens count every answered call, cache hits
included, so a resumed run that replays part of a step from the cache
counts what a straight run does. Callers that know how many requests a
phase needs `reserve` them first, so a phase that cannot finish within the
limit is not started at all; `hold` sets requests aside for the final test
evaluation.
"""

from __future__ import annotations

from typing import Any

import attrs

from adf.llm.protocol import ChatReply, ChatRequest, ModelClient
from adf.llm.usage import Usage
from adf.plan.settings import Limits

PURPOSES = ("forward", "backward", "optimizer", "teacher")


class BudgetExceeded(Exception):
    """A request or phase refused because it would break a limit."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"{limit} budget reached: {detail}")
        self.limit = limit
        self.detail = detail


@attrs.define
class Meter:
    """Usage by purpose; `reserved` requests are promised to the running phase,
    `held` ones to a later one (the final test evaluation)."""

    limits: Limits
    by_purpose: dict[str, Usage] = attrs.field(factory=lambda: {p: Usage() for p in PURPOSES})
    reserved: int = 0
    held: int = 0
    refused: int = 0

    def total(self) -> Usage:
        return sum(self.by_purpose.values(), Usage())

    def check(self, extra_requests: int = 1) -> None:
        """Raise `BudgetExceeded` if `extra_requests` more requests would break a limit."""
        total = self.total()
        limits = self.limits
        if limits.max_calls is not None and (
            total.requests + self.held + extra_requests > limits.max_calls
        ):
            kept = f", {self.held} kept for the final test evaluation" if self.held else ""
            raise BudgetExceeded(
                "calls",
                f"{total.requests} of {limits.max_calls} provider requests used "
                f"({total.retries} of them retries){kept}; {extra_requests} more needed",
            )
        if limits.max_tokens is not None and total.tokens >= limits.max_tokens:
            raise BudgetExceeded("tokens", f"{total.tokens} of {limits.max_tokens} tokens used")
        spent = total.cost_usd or 0.0
        if limits.max_usd is not None and spent >= limits.max_usd:
            raise BudgetExceeded("usd", f"${spent:.4f} of ${limits.max_usd:.4f} spent")

    def reserve(self, requests: int) -> int:
        """Check that a phase of `requests` requests fits (raises if not); returns the amount."""
        self.check(requests)
        self.reserved = requests
        return requests

    def release(self) -> None:
        """End the running phase."""
        self.reserved = 0

    def hold(self, requests: int) -> None:
        """Set `requests` aside for a later phase (raises if they do not fit)."""
        self.check(requests)
        self.held += requests

    def unhold(self) -> None:
        self.held = 0

    def admit(self, purpose: str, attempt: int = 0) -> None:
        """A provider request (a retry when `attempt` > 0) is about to be sent:
        count it, or refuse it."""
        try:
            self.check(1)
        except BudgetExceeded:
            self.refused += 1
            raise
        self._add(purpose, Usage(requests=1, retries=int(attempt > 0)))

    def record(self, purpose: str, usage: Usage) -> None:
        """A call ended (a refused one counts as failed); its requests and retries
        were counted when admitted."""
        self._add(purpose, attrs.evolve(usage, requests=0, retries=0))

    def absorb(self, purpose: str, usage: Usage) -> None:
        """Calls made and admitted elsewhere (on Ray workers, under this meter's allowance),
        requests and retries included."""
        self._add(purpose, usage)

    def _add(self, purpose: str, usage: Usage) -> None:
        self.by_purpose[purpose] = self.by_purpose.get(purpose, Usage()) + usage

    def to_json(self) -> dict[str, Any]:
        return {"by_purpose": {p: u.to_json() for p, u in self.by_purpose.items()},
                "refused": self.refused}

    def load_json(self, data: dict[str, Any]) -> None:
        self.by_purpose = {p: Usage.from_json(u) for p, u in data["by_purpose"].items()}
        for purpose in PURPOSES:
            self.by_purpose.setdefault(purpose, Usage())
        self.refused = int(data.get("refused", 0))
        self.reserved = 0
        self.held = 0


class BudgetedClient:
    """A `ModelClient` that counts every call and refuses a request over a limit.

    When the wrapped client takes request gates (`LiteLLMClient.add_gate`),
    the meter is asked before each provider request, retries included;
    otherwise before each call.
    """

    def __init__(self, inner: ModelClient, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter
        add_gate = getattr(inner, "add_gate", None)
        self._gated = callable(add_gate)
        if add_gate is not None and self._gated:
            add_gate(self._admit)

    def _admit(self, request: ChatRequest, attempt: int) -> None:
        self.meter.admit(request.purpose, attempt)

    async def complete(self, request: ChatRequest) -> ChatReply:
        if not self._gated:
            self.meter.admit(request.purpose)
        try:
            reply = await self.inner.complete(request)
        except BaseException as exc:
            self.meter.record(request.purpose, Usage.of_error(exc))
            raise
        self.meter.record(request.purpose, Usage.of_reply(reply))
        return reply
