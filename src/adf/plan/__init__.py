"""The plan layer: schema (the compiler/runtime contract) and its msgpack codec.

The codec (and msgpack) loads only when one of its names is first used, so
code that needs just the schema, like `adfc check`, does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adf.plan.schema import FORMAT_VERSION, Plan

if TYPE_CHECKING:
    from adf.plan.codec import PlanError, decode_plan, encode_plan, load_plan, validate_plan

_CODEC_NAMES = ("PlanError", "decode_plan", "encode_plan", "load_plan", "validate_plan")

__all__ = [
    "FORMAT_VERSION",
    "Plan",
    "PlanError",
    "decode_plan",
    "encode_plan",
    "load_plan",
    "validate_plan",
]


def __getattr__(name: str) -> Any:
    if name in _CODEC_NAMES:
        from adf.plan import codec

        return getattr(codec, name)
    raise AttributeError(f"module 'adf.plan' has no attribute {name!r}")
