"""A model's tool call, as the client hands it on and the runtime reads it.

Takes the provider's reply message (`tool_calls`, or text where a server
that ignores `tools=` wrote the call itself); gives `ToolCall` and the one
text form a tool call travels in through the client, its cache, its traces
and its de-duplication: `encode_tool_call` writes the canonical JSON
`{"tool_call": {"name": ..., "arguments": ...}}`, and `read_tool_call`
reads it back. The reader is tolerant, because small local models (and
servers that answer tool requests with plain text, such as llama-cpp-python
without a function-calling chat format) write calls in several shapes:

- the envelope above, or `{"name": ..., "arguments": {...}}` (also under
  `"tool"`/`"function"` and `"parameters"`/`"args"`), alone or inside
  prose or a fenced block;
- `name(argument text)` for a tool that takes one argument.

A reply that names no listed tool is a `ToolCallFailure` with a reason
(the runtime traces it and shows it to the agent as the step's result).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

_ENVELOPE = "tool_call"
_NAME_KEYS = ("name", "tool", "function")
_ARG_KEYS = ("arguments", "parameters", "args", "input")


@attrs.frozen
class ToolCall:
    """`arguments` is the JSON object the model gave, as a mapping."""

    name: str
    arguments: Mapping[str, Any]

    def arguments_json(self) -> str:
        return json.dumps(dict(self.arguments), sort_keys=True, ensure_ascii=False)


@attrs.frozen
class ToolCallFailure:
    reason: str


def encode_tool_call(name: str, arguments: str) -> str:
    """The reply text for a native tool call (`arguments` as the provider sent it)."""
    try:
        parsed: Any = json.loads(arguments) if arguments.strip() else {}
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        parsed = arguments  # kept as text: the reader reports it as unreadable
    body = {_ENVELOPE: {"name": name, "arguments": parsed}}
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def read_tool_call(text: str, tools: Mapping[str, Sequence[str]]) -> ToolCall | ToolCallFailure:
    """The call in a reply, given each tool's argument names; a failure says why."""
    names = ", ".join(tools)
    for candidate in _json_objects(text):
        call = _from_object(candidate)
        if call is None:
            continue
        name, arguments = call
        if name not in tools:
            return ToolCallFailure(f"called an unknown tool {name!r} (the tools are: {names})")
        if isinstance(arguments, str):
            params = tools[name]
            if len(params) != 1:
                return ToolCallFailure(f"the arguments of {name} are not a JSON object")
            arguments = {params[0]: arguments}
        if not isinstance(arguments, dict):
            return ToolCallFailure(f"the arguments of {name} are not a JSON object")
        return ToolCall(name, arguments)
    match = re.search(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)", text, re.DOTALL)
    if match is not None and match.group(1) in tools and len(tools[match.group(1)]) == 1:
        value = match.group(2).strip().strip("\"'")
        return ToolCall(match.group(1), {tools[match.group(1)][0]: value})
    preview = " ".join(text.split())[:80]
    return ToolCallFailure(f"the reply called no tool (the tools are: {names}): {preview!r}")


def _from_object(value: Any) -> tuple[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get(_ENVELOPE), dict):
        value = value[_ENVELOPE]
    name = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name is None:
        return None
    arguments: Any = next((value[k] for k in _ARG_KEYS if k in value), {})
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError, RecursionError):  # else a bare string: a one-argument tool's
            arguments = json.loads(arguments)
    return name, arguments


def _json_objects(text: str) -> list[Any]:
    """Every JSON object in the text, outermost first, in order."""
    found: list[Any] = []
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except (ValueError, RecursionError):
            index = text.find("{", index + 1)
            continue
        found.append(value)
        index = text.find("{", end)
    return found
