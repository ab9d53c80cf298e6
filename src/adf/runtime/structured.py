"""Typed llm outputs as JSON schemas, and reading a schema-shaped reply back.

Takes a plan `Type` (an llm node's declared output) and, later, the model's
reply text; gives `output_schema(type)`, the canonical JSON text of the
schema to ask the provider for (None for `str` and `any` outputs, which stay
free text), and `read_structured(text, type)`, the value of a reply that
follows that schema, or a `ValueFailure` when it does not (the caller then
falls back to the tolerant text parser in `adf.runtime.values`).

The schema root is always an object, because llama.cpp's server (adf's
local model) needs one: records are asked for as they are, every other
type is wrapped as `{"answer": ...}`. String fields get their `maxLength`
when the request is built (`adf.llm.requests.bound_strings`), sized to
the reply's token cap.
"""

from __future__ import annotations

import json
from typing import Any

from adf.plan.schema import Type
from adf.runtime.values import ValueFailure, coerce, value_problem

WRAP_KEY = "answer"


def output_schema(type_: Type) -> str | None:
    """The schema to request for an output of `type_`, or None when it is free text."""
    if type_.kind in ("str", "any"):
        return None
    schema = type_schema(type_)
    if type_.kind != "record":
        schema = _object({WRAP_KEY: schema})
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def type_schema(type_: Type) -> dict[str, Any]:
    """The JSON schema of one value of `type_` (no wrapping)."""
    match type_.kind:
        case "str":
            return {"type": "string"}
        case "int":
            return {"type": "integer"}
        case "float":
            return {"type": "number"}
        case "bool":
            return {"type": "boolean"}
        case "enum":
            return {"type": "string", "enum": list(type_.values)}
        case "list":
            assert type_.of is not None
            return {"type": "array", "items": type_schema(type_.of)}
        case "record":
            return _object({name: type_schema(field) for name, field in type_.fields})
        case "any":
            return {}
    raise AssertionError(f"unknown type kind {type_.kind!r}")  # plan bug


def read_structured(text: str, type_: Type) -> Any:
    """The value of a reply shaped like `output_schema(type_)`, or a `ValueFailure`."""
    try:
        loaded = json.loads(text.strip(), strict=False)  # grammars let raw newlines into strings
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        return ValueFailure("the reply is not a JSON value")
    problem = value_problem(loaded)
    if problem is not None:
        return ValueFailure(f"the reply is not a usable JSON value: {problem}")
    if type_.kind != "record":
        if not isinstance(loaded, dict) or WRAP_KEY not in loaded:
            return ValueFailure(f"the reply has no {WRAP_KEY!r} field")
        loaded = loaded[WRAP_KEY]
    return coerce(loaded, type_)


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
