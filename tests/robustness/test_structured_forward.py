"""Typed llm outputs ask for a JSON schema; a reply that ignores it falls back to the text parser."""

from __future__ import annotations

import json
from typing import Any

from rb_helpers import INT_TAIL, run, typed_plan

from adf.testing.fake_server import FakeServer, last_user

LOCAL_FORM = ', structured: "json_object"'  # the form adf sends to its local llama.cpp server


def test_int_output_sends_the_schema_and_reads_the_json_reply() -> None:
    with FakeServer('{"answer": 7}') as server:
        plan = typed_plan(server.base_url, options=LOCAL_FORM, tail=INT_TAIL)
        result = run(plan, [{"question": "How many apples?", "answer": 7}])
        body = server.requests[0]
    assert body["response_format"] == {
        "type": "json_object",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "integer"}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    }
    trace = result.samples[0].node("pred")
    assert trace.status == "ok" and trace.value == 7
    assert trace.reply_mode == "schema"
    assert result.score == 1.0


def test_a_plain_text_reply_that_ignores_the_schema_falls_back_to_the_text_parser() -> None:
    with FakeServer("I counted them one by one. There are 7 apples.") as server:
        plan = typed_plan(server.base_url, options=LOCAL_FORM, tail=INT_TAIL)
        result = run(plan, [{"question": "How many apples?", "answer": 7}])
        assert "response_format" in server.requests[0]
    trace = result.samples[0].node("pred")
    assert trace.status == "ok" and trace.value == 7
    assert trace.reply_mode == "fallback"
    assert result.score == 1.0


def test_a_reply_that_neither_follows_the_schema_nor_parses_fails_the_node_with_a_reason() -> None:
    with FakeServer('{"answer": "many"}') as server:
        plan = typed_plan(server.base_url, options=LOCAL_FORM, tail=INT_TAIL)
        result = run(plan, [{"question": "How many apples?", "answer": 7}])
    trace = result.samples[0].node("pred")
    assert trace.status == "failed" and trace.reply_mode == "fallback"
    assert trace.error is not None and "could not read the reply as int" in trace.error
    assert result.samples[0].error is not None and result.samples[0].error.kind == "parse"
    assert result.score == 0.0


def test_str_outputs_stay_free_text() -> None:
    with FakeServer("seven") as server:
        plan = typed_plan(server.base_url, "str", options=LOCAL_FORM)
        result = run(plan, [{"question": "How many apples?"}])
        assert "response_format" not in server.requests[0]
    trace = result.samples[0].node("pred")
    assert trace.value == "seven" and trace.reply_mode == "text"


def test_structured_off_sends_no_schema_and_reads_text() -> None:
    with FakeServer("Answer: 7") as server:
        plan = typed_plan(server.base_url, options=LOCAL_FORM, tail=INT_TAIL)
        result = run(plan, [{"question": "How many apples?", "answer": 7}], structured=False)
        assert "response_format" not in server.requests[0]
    trace = result.samples[0].node("pred")
    assert trace.value == 7 and trace.reply_mode == "text"


def test_a_provider_that_takes_no_schema_is_sent_none_and_the_trace_says_so() -> None:
    with FakeServer("Answer: 7") as server:
        plan = typed_plan(server.base_url, tail=INT_TAIL)  # "openai/fake": litellm knows no schema
        result = run(plan, [{"question": "How many apples?", "answer": 7}])
        assert "response_format" not in server.requests[0]
    trace = result.samples[0].node("pred")
    assert trace.value == 7 and trace.reply_mode == "unsent"


def respond_record(request: dict[str, Any]) -> str:
    schema = request["response_format"]["schema"]
    assert schema["required"] == ["n", "why", "tag", "items"]
    return json.dumps({"n": 3, "why": "three pears", "tag": "b", "items": ["p1", "p2", "p3"]})


def test_record_output_is_asked_for_as_an_object_with_bounded_strings() -> None:
    output = "{n: int, why: str, tag: enum{A, B}, items: list[str]}"
    with FakeServer(respond_record) as server:
        plan = typed_plan(server.base_url, output, options=LOCAL_FORM)
        result = run(plan, [{"question": "Pears?"}])
        schema = server.requests[0]["response_format"]["schema"]
    props = schema["properties"]
    assert props["n"] == {"type": "integer"}
    assert props["tag"] == {"type": "string", "enum": ["A", "B"]}
    assert props["why"]["type"] == "string" and 16 <= props["why"]["maxLength"] <= 77 * 3
    assert props["items"]["items"]["type"] == "string" and "maxLength" in props["items"]["items"]
    trace = result.samples[0].node("pred")
    assert trace.reply_mode == "schema"
    assert trace.value == {"n": 3, "why": "three pears", "tag": "B", "items": ["p1", "p2", "p3"]}


def test_enum_and_list_outputs_are_wrapped_in_an_answer_object() -> None:
    def respond(request: dict[str, Any]) -> str:
        answer = request["response_format"]["schema"]["properties"]["answer"]
        if answer.get("enum"):
            return '{"answer": "LOC"}'
        return '{"answer": [1, 2, 3]}' if "apples" in last_user(request) else "1\n2"

    with FakeServer(respond) as server:
        labels = run(typed_plan(server.base_url, "enum{HUM, LOC}", options=LOCAL_FORM),
                     [{"question": "Where?"}])
        numbers = run(typed_plan(server.base_url, "list[int]", options=LOCAL_FORM),
                      [{"question": "apples"}, {"question": "pears"}])
    assert labels.samples[0].node("pred").value == "LOC"
    first, second = (s.node("pred") for s in numbers.samples)
    assert first.value == [1, 2, 3] and first.reply_mode == "schema"
    assert second.value == [1, 2] and second.reply_mode == "fallback"
