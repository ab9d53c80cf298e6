"""A parameter's value: the one type, and its JSON form.

Takes a plan's `ParamDecl` or JSON data; gives `ParamValue` (the text of a
`prompt` parameter, the `Demo` tuple of a `demos` one), `param_value` (a
declaration's current value), `value_to_json` / `value_from_json` / `demos_from_json` (text as
a JSON string, demos as a list of objects of text fields) and
`ParamValueError` for JSON that is not a value of the kind asked for. The
runtime, the trainer, checkpoints and lock files all use these.
"""

from __future__ import annotations

from typing import Any

from adf.plan.schema import Demo, ParamDecl, ParamKind

ParamValue = str | tuple[Demo, ...]


class ParamValueError(ValueError):
    """JSON that is not a parameter value of the expected kind; the message is for people."""


def param_value(param: ParamDecl) -> ParamValue:
    """The value a declaration holds now."""
    return param.value if param.kind == "prompt" else param.demos


def value_to_json(value: ParamValue) -> str | list[dict[str, str]]:
    return value if isinstance(value, str) else [dict(demo.fields) for demo in value]


def value_from_json(kind: ParamKind, data: Any) -> ParamValue:
    """Read a value of `kind` back from its JSON form (raises `ParamValueError`)."""
    if kind == "prompt":
        if not isinstance(data, str):
            raise ParamValueError("a prompt value must be a string")
        return data
    return demos_from_json(data)


def demos_from_json(data: Any) -> tuple[Demo, ...]:
    if not isinstance(data, list):
        raise ParamValueError("demos must be a list of objects")
    out = []
    for item in data:
        if not isinstance(item, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in item.items()
        ):
            raise ParamValueError("each demo must be an object of text fields")
        out.append(Demo(tuple(item.items())))
    return tuple(out)
