"""`demos(turns: true)`: few-shot demos sent as user/assistant turns instead of prompt text."""

from __future__ import annotations

import asyncio

import msgpack
from rt_helpers import backward_node, client, is_backward, responder

from adf.compiler.pipeline import compile_source
from adf.llm.cache import cache_key
from adf.llm.requests import build_request
from adf.plan import encode_plan
from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.runtime.template import render_messages
from adf.testing.fake_server import FakeServer, Request, last_user

SOURCE = """model m = "openai/fake" {{ temperature: 0 }}
param instruction: prompt = "Rate the sentence."
param examples: demos(max: 3{turns}) = [
  {{text: "a dull film", answer: "negative"}},
  {{text: "a lovely film", answer: "positive"}},
]
input text: str
target label: enum{{negative, positive}}
llm rate(text: str) -> enum{{negative, positive}} using m {{
  system: [instruction, examples]
  user: "Sentence: {{text}}"
}}
node pred = rate(text)
loss acc = std.loss.label_match(pred, label)
output pred
"""


def compiled(turns: str) -> Plan:
    result = compile_source(SOURCE.format(turns=turns), "t.adf")
    assert [d.code for d in result.diagnostics] == []
    assert result.plan is not None
    return result.plan


def bound(plan: Plan, base_url: str) -> Plan:
    model = replace(plan.models[0], options=(*plan.models[0].options, ("api_base", base_url)))
    return replace(plan, models=(model,))


def forward(request: Request) -> str:
    return "negative"


def test_turns_are_sent_as_user_and_assistant_messages() -> None:
    plan = compiled(", turns: true")
    assert plan.param("examples").turns and plan.turn_demos == {"examples"}
    with FakeServer(responder(forward)) as server:
        asyncio.run(evaluate(bound(plan, server.base_url), [Sample("s", (("text", "a fine film"),),
                                                                     (("label", "positive"),))], client()))
        (request,) = server.requests
    roles = [(m["role"], m["content"]) for m in request["messages"]]
    assert roles == [
        ("system", "Rate the sentence."),  # the demos are no longer text in the prompt
        ("user", "Sentence: a dull film"), ("assistant", "negative"),  # the user template, filled
        ("user", "Sentence: a lovely film"), ("assistant", "positive"),
        ("user", "Sentence: a fine film"),
    ]


def test_without_the_option_demos_stay_text_and_plans_keep_their_bytes() -> None:
    plan = compiled("")
    assert not plan.param("examples").turns and plan.turn_demos == frozenset()
    raw = msgpack.unpackb(encode_plan(plan), raw=False)
    assert all("turns" not in p for p in raw["params"])  # left out at the default
    spec = plan.node("pred").llm
    assert spec is not None
    messages = render_messages(spec, plan_values(plan), {"text": "x"})
    assert [m.role for m in messages] == ["system", "user"]
    assert "Example 1:" in messages[0].content and "a dull film" in messages[0].content


def test_the_cache_key_changes_with_the_form() -> None:
    keys = []
    for turns in ("", ", turns: true"):
        plan = compiled(turns)
        spec = plan.node("pred").llm
        assert spec is not None
        messages = render_messages(spec, plan_values(plan), {"text": "x"}, plan.turn_demos)
        keys.append(cache_key(build_request(plan.models[0], messages, node="pred")))
    assert keys[0] != keys[1]


def test_a_demo_whose_fields_miss_a_placeholder_is_shown_as_lines() -> None:
    plan = compiled(", turns: true")
    spec = plan.node("pred").llm
    assert spec is not None
    values = {**plan_values(plan), "examples": (replace(plan.param("examples").demos[0],
                                                            fields=(("review", "meh"), ("answer", "negative"))),)}
    messages = render_messages(spec, values, {"text": "x"}, plan.turn_demos)
    assert [(m.role, m.content) for m in messages[1:3]] == [("user", "review: meh"), ("assistant", "negative")]


def test_the_backward_pass_sees_the_demo_turns_and_reaches_the_demos() -> None:
    plan = compiled(", turns: true")
    with FakeServer(responder(forward)) as server:
        workflow = bound(plan, server.base_url)
        result = asyncio.run(evaluate(workflow, [Sample("s", (("text", "a fine film"),),
                                                        (("label", "positive"),))], client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        (review,) = [r for r in server.requests if is_backward(r) and backward_node(r) == "pred"]
    shown = last_user(review)
    assert "[assistant]\nnegative" in shown and "[user]\nSentence: a dull film" in shown
    assert {f.param for f in grads.feedback} == {"instruction", "examples"}


def plan_values(plan: Plan) -> dict[str, object]:
    return {p.name: (p.demos if p.kind == "demos" else p.value) for p in plan.params}
