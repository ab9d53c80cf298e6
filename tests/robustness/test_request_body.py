"""What a model call really sends: temperature and max_tokens reach the provider's request body."""

from __future__ import annotations

import asyncio

from rb_helpers import INT_TAIL, client, run, typed_plan

from adf.runtime.backward import backward_batch
from adf.testing.fake_server import FakeServer, system_text


def test_temperature_and_max_tokens_from_the_model_declaration_reach_the_body() -> None:
    with FakeServer("Answer: 7") as server:
        plan = typed_plan(server.base_url, tail=INT_TAIL)  # temperature 0.3, max_tokens 77
        run(plan, [{"question": "How many apples?", "answer": 7}])
        body = server.requests[0]
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 77
    assert body["model"] == "fake"
    assert body["messages"][0] == {"role": "system", "content": "Count the objects."}


def test_backward_requests_carry_the_temperature_a_raised_token_cap_and_a_bounded_schema() -> None:
    def respond(request: dict) -> str:  # type: ignore[type-arg]
        if system_text(request).startswith("You review one step"):
            return '{"instruction": "count every item"}'
        return "Answer: 3"

    with FakeServer(respond) as server:
        plan = typed_plan(server.base_url, options=', structured: "json_object"', tail=INT_TAIL)
        result = run(plan, [{"question": "How many apples?", "answer": 7}])
        grads = asyncio.run(backward_batch(plan, result.samples, client(),
                                           result.param_values()))
        body = server.requests[-1]
    assert grads.feedback and grads.feedback[0].text == "count every item"
    assert body["temperature"] == 0.3
    assert body["max_tokens"] >= 77  # the backward engine may raise the cap, never lower it
    schema = body["response_format"]["schema"]
    assert body["response_format"]["type"] == "json_object"
    limit = schema["properties"]["instruction"]["maxLength"]
    assert 16 <= limit <= body["max_tokens"] * 3
