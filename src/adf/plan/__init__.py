"""The plan layer: schema (the compiler/runtime contract) and its msgpack codec."""

from adf.plan.codec import PlanError, decode_plan, encode_plan, load_plan, validate_plan
from adf.plan.schema import FORMAT_VERSION, Plan

__all__ = [
    "FORMAT_VERSION",
    "Plan",
    "PlanError",
    "decode_plan",
    "encode_plan",
    "load_plan",
    "validate_plan",
]
