"""Declarations of the model-call package's small records.

Takes nothing; gives `Price` (what a model's tokens cost, from
`adf.llm.catalogue`), which that module imports from here under its name.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Price:
    prompt: float  # dollars per prompt token
    completion: float  # dollars per completion token
    cached_prompt: float | None = None  # per prompt token the provider read from its cache

    def of(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """Dollars for a call; `cached_tokens` of the prompt are billed at `cached_prompt`."""
        cached = min(max(cached_tokens, 0), prompt_tokens) if self.cached_prompt is not None else 0
        return (
            (prompt_tokens - cached) * self.prompt
            + cached * (self.cached_prompt or 0.0)
            + completion_tokens * self.completion
        )
