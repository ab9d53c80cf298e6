"""What model calls used: the one usage record, from the client to every report.

Takes a `CallTrace` (what the client saw), a `ChatReply` or a failed call's
`ModelError`; gives `Usage`, frozen and addable. One meaning everywhere:

- `calls`: logical calls the workflow made, answered (by a provider or the
  cache) or failed;
- `requests`: requests sent to a provider, retries included (a cache hit
  sends none); this is what `--max-calls` limits;
- `retries`, `failures` (calls that failed for good), `cache_hits`
  (answered from the cache or by an identical call in flight);
- `prompt_tokens`, `completion_tokens`: of every answered call, cache hits
  included (the size of the work, the same whether or not the cache was
  warm, so a resumed run counts what a straight one does);
- `cost_usd`: dollars paid (cache hits are free); None while no call had a
  known price, so an unknown price is never shown as $0; `unpriced` counts
  provider-answered calls whose price was unknown;
- `latency_s`: summed over calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from adf.llm.calltrace import CallTrace
from adf.llm.protocol import ChatReply, ModelError


@attrs.frozen
class Usage:
    calls: int = 0
    requests: int = 0
    retries: int = 0
    failures: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced: int = 0
    latency_s: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            self.calls + other.calls,
            self.requests + other.requests,
            self.retries + other.retries,
            self.failures + other.failures,
            self.cache_hits + other.cache_hits,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.unpriced + other.unpriced,
            self.latency_s + other.latency_s,
        )

    @staticmethod
    def of_reply(reply: ChatReply) -> Usage:
        """One answered call."""
        paid = None if reply.cached else reply.cost_usd
        return Usage(
            calls=1,
            requests=0 if reply.cached else reply.retries + 1,
            retries=reply.retries,
            cache_hits=int(reply.cached),
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=paid,
            unpriced=int(not reply.cached and reply.cost_usd is None),
            latency_s=reply.latency_s,
        )

    @staticmethod
    def of_error(error: BaseException) -> Usage:
        """One call that failed for good (a `ModelError` says how many requests it sent)."""
        sent = error.requests if isinstance(error, ModelError) else 0
        return Usage(calls=1, requests=sent, retries=max(sent - 1, 0), failures=1)

    @staticmethod
    def of_trace(record: CallTrace) -> Usage:
        """One call as the client traced it."""
        if record.failed:
            return Usage(calls=1, requests=record.requests, retries=record.retries, failures=1,
                         latency_s=record.latency_s)
        cached = record.cached
        return Usage(
            calls=1,
            requests=record.requests,
            retries=record.retries,
            cache_hits=int(cached),
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            cost_usd=None if cached else record.cost_usd,
            unpriced=int(not cached and record.cost_usd is None),
            latency_s=record.latency_s,
        )

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["tokens"] = self.tokens
        data["cost_usd"] = None if self.cost_usd is None else round(self.cost_usd, 8)
        data["latency_s"] = round(self.latency_s, 4)
        return data

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Usage:
        cost = data.get("cost_usd")
        return Usage(
            calls=int(data.get("calls", 0)),
            requests=int(data.get("requests", 0)),
            retries=int(data.get("retries", 0)),
            failures=int(data.get("failures", 0)),
            cache_hits=int(data.get("cache_hits", 0)),
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=None if cost is None else float(cost),
            unpriced=int(data.get("unpriced", 0)),
            latency_s=float(data.get("latency_s", 0.0)),
        )

    def summary(self) -> str:
        """One line for people."""
        if self.cost_usd is None:
            cost = "cost unknown"
        else:
            cost = f"${self.cost_usd:.4f}" + (
                f" (+{self.unpriced} unpriced)" if self.unpriced else ""
            )
        return (
            f"{self.calls} calls ({self.cache_hits} cached, {self.requests} provider requests, "
            f"{self.retries} retries, {self.failures} failed), "
            f"{self.prompt_tokens}+{self.completion_tokens} tokens, {cost}"
        )
