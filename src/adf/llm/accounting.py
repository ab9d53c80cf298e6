"""Totals of model calls per node, per purpose and per run.

Takes `CallTrace` records (it is itself a trace sink: pass it to the client);
gives `Tally` (calls, cache hits, model calls, retries, failures, prompt and
completion tokens, cost, latency), frozen and addable, and `Accounting`,
which keeps one tally per node, per purpose and for the whole run. Tokens
and cost count what was spent: a cache hit adds a call and a hit but no
tokens and no cost. Cost is None while no call had a known price, so an
unknown price is never shown as $0; `unpriced` counts model calls whose
price was unknown.
"""

from __future__ import annotations

from typing import Any

import attrs

from adf.llm.calltrace import CallTrace


@attrs.frozen
class Tally:
    calls: int = 0  # calls answered or failed, cached or not
    cache_hits: int = 0  # answered from the cache or by an identical call in flight
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced: int = 0
    latency_s: float = 0.0  # summed over calls

    @property
    def model_calls(self) -> int:
        """Calls that went to a model (not answered from the cache)."""
        return self.calls - self.cache_hits

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Tally) -> Tally:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Tally(
            self.calls + other.calls,
            self.cache_hits + other.cache_hits,
            self.retries + other.retries,
            self.failures + other.failures,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.unpriced + other.unpriced,
            self.latency_s + other.latency_s,
        )

    @staticmethod
    def of(record: CallTrace) -> Tally:
        spent = not record.cached
        priced = record.cost_usd is not None
        return Tally(
            calls=1,
            cache_hits=int(record.cached),
            retries=record.retries,
            failures=int(record.failed),
            prompt_tokens=record.prompt_tokens if spent else 0,
            completion_tokens=record.completion_tokens if spent else 0,
            cost_usd=record.cost_usd if spent and priced else None,
            unpriced=int(spent and not priced and not record.failed),
            latency_s=record.latency_s,
        )

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["model_calls"] = self.model_calls
        return data

    def summary(self) -> str:
        """One line for people: calls, cache hits, retries, failures, tokens, cost."""
        if self.cost_usd is None:
            cost = "cost unknown"
        else:
            cost = f"${self.cost_usd:.4f}" + (
                f" (+{self.unpriced} unpriced)" if self.unpriced else ""
            )
        return (
            f"{self.calls} calls ({self.cache_hits} cached), {self.retries} retries, "
            f"{self.failures} failed, {self.prompt_tokens}+{self.completion_tokens} tokens, {cost}"
        )


class Accounting:
    """Running tallies; call it with each `CallTrace` (it is a trace sink)."""

    def __init__(self) -> None:
        self.total = Tally()
        self.by_node: dict[str, Tally] = {}
        self.by_purpose: dict[str, Tally] = {}
        self.by_model: dict[str, Tally] = {}

    def __call__(self, record: CallTrace) -> None:
        tally = Tally.of(record)
        self.total = self.total + tally
        node = record.node or "(unnamed)"
        self.by_node[node] = self.by_node.get(node, Tally()) + tally
        self.by_purpose[record.purpose] = self.by_purpose.get(record.purpose, Tally()) + tally
        self.by_model[record.model] = self.by_model.get(record.model, Tally()) + tally

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total.to_json(),
            "by_node": {k: v.to_json() for k, v in sorted(self.by_node.items())},
            "by_purpose": {k: v.to_json() for k, v in sorted(self.by_purpose.items())},
            "by_model": {k: v.to_json() for k, v in sorted(self.by_model.items())},
        }
