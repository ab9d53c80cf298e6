"""Model prices: dollars per prompt and per completion token.

Takes litellm model strings; gives a `Price` for each model whose price is
known, `None` for the others. adf's own `local` model costs nothing. Other
prices come from litellm's bundled price table (never fetched from the
network); litellm is imported here, lazily, only when a price is asked for,
because importing it takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import attrs


@attrs.frozen
class Price:
    prompt: float  # dollars per prompt token
    completion: float  # dollars per completion token

    def of(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.prompt + completion_tokens * self.completion


FREE = Price(0.0, 0.0)


def lookup_prices(models: Iterable[str]) -> dict[str, Price | None]:
    wanted = list(models)
    prices: dict[str, Price | None] = {m: FREE for m in wanted if m == "local"}
    remote = [m for m in wanted if m not in prices]
    if not remote:
        return prices
    table = _litellm_table()
    for model in remote:
        prices[model] = _from_table(table, model)
    return prices


def _litellm_table() -> dict[str, dict[str, object]]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except Exception:  # litellm missing or broken: prices are simply unknown
        return {}
    table = getattr(litellm, "model_cost", {})
    return table if isinstance(table, dict) else {}


def _from_table(table: dict[str, dict[str, object]], model: str) -> Price | None:
    candidates = [model]
    if "/" in model:
        candidates.append(model.split("/", 1)[1])
    for name in candidates:
        entry = table.get(name)
        if not isinstance(entry, dict):
            continue
        prompt = entry.get("input_cost_per_token")
        completion = entry.get("output_cost_per_token")
        if isinstance(prompt, int | float) and isinstance(completion, int | float):
            return Price(float(prompt), float(completion))
    return None
