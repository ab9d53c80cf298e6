"""One step of a tool-calling llm: the model chooses a tool, the runtime calls it.

Takes an llm node whose spec lists tools (`LlmSpec.tools`), its arguments,
the parameter values and the bound functions; gives the node's `NodeTrace`,
whose value is a `tool_call` record (`adf.plan.schema.TOOL_CALL`): the
tool's name, its arguments (canonical JSON), its result and `done` (the
tool is a `finish` tool).

The request carries the tools' definitions, built here from each tool's
typed parameters (`tool_definitions`: a JSON schema per fn, the description
from its param's current value or its text, so a trained description is what
the model reads). The model's call is read by `adf.llm.toolcall`; its
arguments are checked against the fn's declared types before the fn runs.
A reply that calls no listed tool, arguments that do not fit, or a tool that
raises is *not* a failed sample: the record's `result` says `error: ...`
(what the model reads next, so an agent can correct itself), `done` is
false, and the node trace's `error` keeps the reason. Only a model call that
fails for good fails the node, as for any llm.

`show_tools` and `show_call` render the same facts for the backward
engine's review of the step.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from adf.llm.toolcall import ToolCall, ToolCallFailure, read_tool_call
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Node, ToolSpec
from adf.runtime.bindings import Bindings
from adf.runtime.structured import type_schema
from adf.runtime.template import render_parts
from adf.runtime.values import ValueFailure, coerce, describe


def tool_definitions(tools: tuple[ToolSpec, ...], params: Mapping[str, ParamValue]) -> str:
    """The OpenAI `tools=` list, as canonical JSON text (part of the cache key)."""
    defined = []
    for tool in tools:
        function: dict[str, Any] = {
            "name": tool.name,
            "parameters": {
                "type": "object",
                "properties": {name: type_schema(t) for name, t in tool.params},
                "required": [name for name, _ in tool.params],
                "additionalProperties": False,
            },
        }
        description = render_parts(tool.description, params, {})
        if description:
            function["description"] = description
        defined.append({"type": "function", "function": function})
    return json.dumps(defined, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def call_tool(
    tools: tuple[ToolSpec, ...], text: str, bindings: Bindings
) -> tuple[dict[str, Any], str | None]:
    """The `tool_call` record for a reply, and the reason when the step went wrong."""
    found = read_tool_call(text, {t.name: tuple(n for n, _ in t.params) for t in tools})
    if isinstance(found, ToolCallFailure):
        return _record("", "", f"error: {found.reason}", False), found.reason
    tool = next(t for t in tools if t.name == found.name)
    args, problem = _checked(tool, found)
    if problem is not None:
        return _record(tool.name, found.arguments_json(), f"error: {problem}", False), problem
    function: Callable[..., Any] = bindings.functions[tool.fn.ref]
    try:
        if bindings.is_user_code(tool.fn.ref):
            result = await asyncio.to_thread(function, **args)
        else:
            result = function(**args)
    except (Exception, SystemExit) as exc:  # user code: its failure is the model's observation
        reason = f"{tool.name} raised {type(exc).__name__}: {exc}"
        return _record(tool.name, found.arguments_json(), f"error: {reason}", False), reason
    if not isinstance(result, str):
        reason = f"{tool.name} returned {describe(result)}, not text"
        return _record(tool.name, found.arguments_json(), f"error: {reason}", False), reason
    return _record(tool.name, found.arguments_json(), result, tool.finish), None


def _checked(tool: ToolSpec, call: ToolCall) -> tuple[dict[str, Any], str | None]:
    declared = dict(tool.params)
    unknown = [name for name in call.arguments if name not in declared]
    if unknown:
        return {}, f"{tool.name} takes no argument {unknown[0]!r} (it takes: {', '.join(declared)})"
    args: dict[str, Any] = {}
    for name, type_ in tool.params:
        if name not in call.arguments:
            return {}, f"{tool.name} needs the argument {name!r}"
        value = coerce(call.arguments[name], type_)
        if isinstance(value, ValueFailure):
            return {}, f"the argument {name!r} of {tool.name} is not a {type_}: {value.message}"
        args[name] = value
    return args, None


def _record(tool: str, arguments: str, result: str, done: bool) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments, "result": result, "done": done}


def show_tools(node: Node, params: Mapping[str, ParamValue]) -> str:
    """The tools a step was offered, one per line, as the backward engine reads them."""
    assert node.llm is not None
    lines = []
    for tool in node.llm.tools:
        signature = ", ".join(f"{n}: {t}" for n, t in tool.params)
        description = render_parts(tool.description, params, {}) or "(no description)"
        finish = " [ends the work]" if tool.finish else ""
        lines.append(f"- {tool.name}({signature}){finish}: {description}")
    return "[tools offered]\n" + "\n".join(lines)


def show_call(value: Any, raw: str | None) -> str:
    """What the step did, for review: the call it chose and what came back."""
    if not isinstance(value, dict) or not value.get("tool"):
        result = value.get("result", "") if isinstance(value, dict) else ""
        return f"It called no valid tool ({result}). Its reply was: {raw or '(empty)'}"
    return (f"It called {value['tool']} with {value['arguments']}, "
            f"which returned: {value['result']}")


def described_tool(node: Node, param: str) -> str | None:
    """The tool of this node whose description is `param`, if any."""
    if node.llm is None:
        return None
    for tool in node.llm.tools:
        if any(p.kind == "param" and p.param == param for p in tool.description):
            return tool.name
    return None
