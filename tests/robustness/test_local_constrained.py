"""The real local model (SmolLM2 via llama.cpp): typed outputs reach it in the form it honours.

Marked `local_model` (deselect with `-m "not local_model"`). Starts adf's
own server through `open_models`, like `adfc eval` does; two short samples,
small token caps, and the whole evaluation bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest
from rb_helpers import samples

from adf.compiler.pipeline import compile_source
from adf.llm.calltrace import MemoryTrace
from adf.llm.client import LiteLLMClient
from adf.llm.models import open_models, resolve_models
from adf.llm.requests import bound_strings
from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.engine import EvalResult, evaluate
from adf.runtime.structured import output_schema

pytestmark = pytest.mark.local_model

SOURCE = """
model student = "local" { temperature: 0, max_tokens: 40, context: 1024 }
input question: str
llm count(question: str) -> int using student {
  user: "Count the fruits. {question}"
}
llm explain(question: str) -> {fruits: int, reason: str} using student {
  user: "Count the fruits and say why. {question}"
}
node pred = count(question)
node why = explain(question)
output pred
output why
"""
ROWS = [{"question": "I have an apple, two pears and a plum."},
        {"question": "I have three bananas and a peach."}]


def compiled() -> Plan:
    result = compile_source(SOURCE, "local_typed.adf")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


def test_typed_outputs_are_constrained_on_the_local_model() -> None:
    plan = compiled()
    trace = MemoryTrace()

    async def go() -> EvalResult:
        resolved = resolve_models(plan.models, environ={})
        async with open_models(resolved, LiteLLMClient(sinks=[trace], concurrency=2)) as session:
            models = tuple(session.models[m.name].effective_decl() for m in plan.models)
            effective = replace(plan, models=models)
            return await asyncio.wait_for(
                evaluate(effective, samples(ROWS), session.client, concurrency=2), 240)

    result = asyncio.run(go())
    why_type = next(n for n in plan.nodes if n.id == "why").output_type
    assert len(trace.records) == 4
    assert {r.schema_form for r in trace.records} == {"json_object"}  # never the json_schema form
    assert all(r.structured == "schema" and r.error is None for r in trace.records)
    for sample in result.samples:
        pred, why = sample.node("pred"), sample.node("why")
        assert pred.reply_mode == "schema" and isinstance(pred.value, int)
        assert why.reply_mode == "schema"
        assert isinstance(why.value["fruits"], int) and isinstance(why.value["reason"], str)
        # the free string was bounded, so the object closed before the 40-token cap
        schema = json.loads(bound_strings(output_schema(why_type) or "", 40))
        jsonschema.validate(json.loads(why.raw or ""), schema)
        assert len(why.value["reason"]) <= schema["properties"]["reason"]["maxLength"]
