"""The one reader of a model's tool call: native calls, and calls written as text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adf.llm.toolcall import ToolCall, ToolCallFailure, encode_tool_call, read_tool_call

TOOLS = {"calculator": ("expression",), "lookup": ("query", "limit")}


def test_a_native_call_round_trips() -> None:
    text = encode_tool_call("lookup", '{"query": "paris", "limit": 2}')
    assert read_tool_call(text, TOOLS) == ToolCall("lookup", {"query": "paris", "limit": 2})


def test_calls_written_as_text() -> None:
    assert read_tool_call('Sure. {"name": "calculator", "arguments": {"expression": "2+3"}}', TOOLS) \
        == ToolCall("calculator", {"expression": "2+3"})
    assert read_tool_call('{"tool": "calculator", "args": "2+3"}', TOOLS) == ToolCall("calculator", {"expression": "2+3"})
    assert read_tool_call("I will use calculator(12 * 4)", TOOLS) == ToolCall("calculator", {"expression": "12 * 4"})


def test_failures_say_why() -> None:
    unknown = read_tool_call('{"name": "search", "arguments": {}}', TOOLS)
    assert isinstance(unknown, ToolCallFailure) and "unknown tool 'search'" in unknown.reason
    none = read_tool_call("The answer is 5.", TOOLS)
    assert isinstance(none, ToolCallFailure) and "called no tool" in none.reason
    bad = read_tool_call(encode_tool_call("lookup", "not json"), TOOLS)
    assert isinstance(bad, ToolCallFailure) and "not a JSON object" in bad.reason


@given(st.text(max_size=200))
def test_any_text_gives_a_call_or_a_failure(text: str) -> None:
    found = read_tool_call(text, TOOLS)
    assert isinstance(found, ToolCall | ToolCallFailure)
    if isinstance(found, ToolCall):
        assert found.name in TOOLS
        json.loads(found.arguments_json())
