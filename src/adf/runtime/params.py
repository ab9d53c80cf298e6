"""The parameter values a run uses: the plan's, with optional overrides.

Takes a plan and an optional mapping param name -> new value (a string for a
`prompt`, a tuple of `Demo` for `demos`); gives the complete name -> value
map the templates read. This is how the trainer tries a proposal without
recompiling. An unknown name or a value of the wrong kind raises
`ValueError` (a caller bug, caught before any model call).
"""

from __future__ import annotations

from collections.abc import Mapping

from adf.plan.paramvalue import ParamValue, param_value
from adf.plan.schema import Demo, Plan


def resolve_params(
    plan: Plan, overrides: Mapping[str, ParamValue] | None = None
) -> dict[str, ParamValue]:
    values: dict[str, ParamValue] = {}
    for param in plan.params:
        values[param.name] = param_value(param)
    for name, value in (overrides or {}).items():
        if name not in values:
            known = ", ".join(values) or "none"
            raise ValueError(f"unknown parameter {name!r} (parameters: {known})")
        kind = plan.param(name).kind
        if kind == "prompt" and not isinstance(value, str):
            raise ValueError(f"parameter {name!r} is a prompt: its value must be a string")
        if kind == "demos" and not (
            isinstance(value, tuple) and all(isinstance(d, Demo) for d in value)
        ):
            raise ValueError(f"parameter {name!r} holds demos: its value must be a tuple of Demo")
        values[name] = value
    return values
