"""Totals over model calls: how many, cached, tokens, dollars, retries.

Takes `CallInfo` records (from forward traces and backward calls); gives a
frozen `Usage` that adds up with `+`. Cost is None when no call had a known
price, so "unknown" is never shown as $0.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from adf.runtime.trace import CallInfo


@attrs.frozen
class Usage:
    calls: int = 0  # calls answered (cached or not)
    cached: int = 0
    failed: int = 0  # calls that failed for good
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    retries: int = 0

    @property
    def model_calls(self) -> int:
        """Calls that reached a model (not answered from the cache)."""
        return self.calls - self.cached

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            self.calls + other.calls,
            self.cached + other.cached,
            self.failed + other.failed,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.retries + other.retries,
        )

    @staticmethod
    def of(calls: Iterable[CallInfo], failed: int = 0) -> Usage:
        total = Usage(failed=failed)
        for call in calls:
            total = total + Usage(
                1, int(call.cached), 0, call.prompt_tokens, call.completion_tokens,
                call.cost_usd, call.retries,
            )
        return total
