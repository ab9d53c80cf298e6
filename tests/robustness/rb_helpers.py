"""Helpers for the robustness tests: compile small programs, a fast client, run them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.compiler.pipeline import compile_source
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.engine import EvalResult, evaluate

TYPED = """
model m = "openai/fake" {{ api_base: "{base}", temperature: 0.3, max_tokens: 77{options} }}
param instruction: prompt = "Count the objects."
input question: str
target answer: int
llm count(question: str) -> {output} using m {{
  system: [instruction]
  user: "Q: {{question}}"
}}
node pred = count(question)
{tail}
output pred
"""

INT_TAIL = "loss acc = std.loss.exact_match(pred, answer)"


def typed_plan(base: str, output: str = "int", *, options: str = "", tail: str = "") -> Plan:
    """A one-llm-node plan whose node returns `output`; `options` are extra model options."""
    text = TYPED.format(base=base, output=output, options=options, tail=tail)
    result = compile_source(text, "typed.adf")
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors and result.plan is not None, errors
    return result.plan


def client(**kwargs: Any) -> LiteLLMClient:
    """No cache, quick retries."""
    retry = RetryPolicy(max_retries=2, base_s=0.01, max_delay_s=0.05)
    return LiteLLMClient(retry=retry, timeout_s=60.0, **kwargs)


def samples(rows: Sequence[Mapping[str, Any]]) -> list[Sample]:
    return [
        Sample(f"s{i}", (("question", str(row["question"])),),
               (("answer", row["answer"]),) if "answer" in row else ())
        for i, row in enumerate(rows)
    ]


def run(plan: Plan, rows: Sequence[Mapping[str, Any]], **kwargs: Any) -> EvalResult:
    made = kwargs.pop("client", None) or client()
    return asyncio.run(evaluate(plan, samples(rows), made, **kwargs))
