"""Per-function model options: `using m(temperature: 0.9)` replaces the model's own."""

from __future__ import annotations

import asyncio

import msgpack
from rt_helpers import client

from adf.compiler.pipeline import compile_source
from adf.plan import decode_plan, encode_plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import evaluate
from adf.testing.fake_server import FakeServer

SOURCE = """model m = "openai/fake" { temperature: 0, max_tokens: 64 }
input q: str
llm brainstorm(q: str) -> str using m(temperature: 0.9, max_tokens: 200) { user: "ideas: {q}" }
llm plain(q: str) -> str using m { user: "plain: {q}" }
node a = brainstorm(q)
node b = plain(a)
output b
"""


def test_options_of_one_function_override_the_model() -> None:
    result = compile_source(SOURCE, "o.adf")
    assert result.plan is not None and result.diagnostics == ()
    plan = result.plan
    assert plan.node("a").llm is not None and plan.node("a").llm.options == (("temperature", 0.9), ("max_tokens", 200))
    assert decode_plan(encode_plan(plan)) == plan
    with FakeServer("ok") as server:
        model = replace(plan.models[0], options=(*plan.models[0].options, ("api_base", server.base_url)))
        bound = replace(plan, models=(model,))
        asyncio.run(evaluate(bound, [Sample("s", (("q", "x"),), ())], client()))
        sent = {r["messages"][-1]["content"].split(":")[0]: r for r in server.requests}
    assert (sent["ideas"]["temperature"], sent["ideas"]["max_tokens"]) == (0.9, 200)
    assert (sent["plain"]["temperature"], sent["plain"]["max_tokens"]) == (0, 64)


def test_repeated_options_are_reported() -> None:
    text = SOURCE.replace("using m(temperature: 0.9, max_tokens: 200)", "using m(temperature: 0.9, temperature: 1)")
    assert [d.code for d in compile_source(text, "o.adf").diagnostics] == ["E0212"]


def test_plans_without_options_keep_their_bytes() -> None:
    plain = compile_source(SOURCE.replace("(temperature: 0.9, max_tokens: 200)", ""), "o.adf").plan
    assert plain is not None
    raw = msgpack.unpackb(encode_plan(plain), raw=False)
    specs = [node["llm"] for node in raw["nodes"] if node["llm"] is not None]
    assert specs and all("options" not in spec for spec in specs)  # left out at the default
