"""Plan <-> msgpack bytes, with a validating loader.

Takes a `Plan` (or bytes); gives bytes (or a `Plan`, or a `PlanError` that
says what is wrong and where). Encoding is generic over the attrs classes in
`adf.plan.schema`: each object becomes a map whose keys follow field order,
so the same plan always gives the same bytes. Decoding checks every field's
type against the schema, then the plan's own invariants (unique ids,
topological order, known params and models), so a corrupt, hand-edited or
newer-version plan is refused with a clear message instead of failing later
in the middle of a paid run.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import attrs
import msgpack

from adf.diagnostics import Span
from adf.plan import schema
from adf.plan.schema import FORMAT_VERSION, EnvRef, Plan

_MAGIC = "adf-plan"


class PlanError(Exception):
    """A plan file that cannot be used; the message is meant for the user."""


def encode_plan(plan: Plan) -> bytes:
    body = {"magic": _MAGIC, **_encode(plan)}
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    return packed


def decode_plan(data: bytes) -> Plan:
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise PlanError(f"not a plan file: the bytes are not valid msgpack ({exc})") from None
    if not isinstance(raw, dict) or raw.get("magic") != _MAGIC:
        raise PlanError("not a plan file: the header is missing (was it written by `adfc compile`?)")
    version = raw.get("format_version")
    if not isinstance(version, int):
        raise PlanError("corrupt plan: format_version is missing")
    if version > FORMAT_VERSION:
        raise PlanError(
            f"this plan has format version {version}, newer than this adf understands "
            f"({FORMAT_VERSION}); upgrade adf or recompile the .adf file"
        )
    if version < FORMAT_VERSION:
        raise PlanError(
            f"this plan has the old format version {version}; recompile it with `adfc compile`"
        )
    fields = {k: v for k, v in raw.items() if k != "magic"}
    plan = _decode(Plan, fields, "plan")
    assert isinstance(plan, Plan)
    validate_plan(plan)
    return plan


def load_plan(path: str) -> Plan:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise PlanError(f"cannot read plan {path}: {exc.strerror}") from None
    try:
        return decode_plan(data)
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None


def validate_plan(plan: Plan) -> None:
    """Check the invariants the runtime relies on; raise `PlanError` on the first breach."""
    seen: set[str] = set()
    for decl in (*plan.inputs, *plan.targets):
        _fresh(decl.name, seen)
    params = {p.name for p in plan.params}
    models = {m.name for m in plan.models}
    for node in plan.nodes:
        for binding in node.inputs:
            if binding.source not in seen:
                raise PlanError(
                    f"corrupt plan: node {node.id!r} reads {binding.source!r}, "
                    "which is not defined before it (nodes must be in topological order)"
                )
        _fresh(node.id, seen)
        if node.kind == "llm":
            if node.llm is None:
                raise PlanError(f"corrupt plan: llm node {node.id!r} has no llm spec")
            if node.llm.model not in models:
                raise PlanError(f"corrupt plan: node {node.id!r} uses unknown model {node.llm.model!r}")
            for part in (*node.llm.system, *node.llm.user):
                if part.kind == "param" and part.param not in params:
                    raise PlanError(f"corrupt plan: node {node.id!r} uses unknown param {part.param!r}")
        elif node.kind == "fn" and node.fn is None:
            raise PlanError(f"corrupt plan: fn node {node.id!r} has no fn spec")
        elif node.kind == "const" and node.value_json is None:
            raise PlanError(f"corrupt plan: const node {node.id!r} has no value")
    for loss in plan.losses:
        for source in (loss.pred, loss.target):
            if source not in seen:
                raise PlanError(f"corrupt plan: loss {loss.name!r} reads unknown value {source!r}")
    for output in plan.outputs:
        if output.source not in seen:
            raise PlanError(f"corrupt plan: output {output.name!r} reads unknown value {output.source!r}")
    if plan.training is not None:
        for role in (plan.training.backward_model, plan.training.optimizer_model):
            if role not in models:
                raise PlanError(f"corrupt plan: training uses unknown model {role!r}")


def _fresh(name: str, seen: set[str]) -> None:
    if name in seen:
        raise PlanError(f"corrupt plan: the id {name!r} is defined twice")
    seen.add(name)


# --- generic encoding -------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, EnvRef):
        return {"$env": value.name}
    if attrs.has(type(value)):
        return {f.name: _encode(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} in a plan")  # compiler bug


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        namespace = {**vars(schema), "Span": Span}
        _HINTS[cls] = typing.get_type_hints(cls, globalns=namespace)
    return _HINTS[cls]


def _decode(hint: Any, raw: Any, where: str) -> Any:
    if hint is Any:
        return raw
    if hint is EnvRef:
        if isinstance(raw, Mapping) and set(raw) == {"$env"} and isinstance(raw["$env"], str):
            return EnvRef(raw["$env"])
        raise PlanError(f"corrupt plan: {where} should be an env reference")
    if isinstance(hint, type) and attrs.has(hint):
        if not isinstance(raw, Mapping):
            raise PlanError(f"corrupt plan: {where} should be a map, found {_kind(raw)}")
        hints = _hints(hint)
        names = {f.name for f in attrs.fields(hint)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise PlanError(f"corrupt plan: {where} has unknown field {unknown[0]!r}")
        values: dict[str, Any] = {}
        for field in attrs.fields(hint):
            if field.name in raw:
                values[field.name] = _decode(hints[field.name], raw[field.name], f"{where}.{field.name}")
            elif field.default is attrs.NOTHING:
                raise PlanError(f"corrupt plan: {where} is missing field {field.name!r}")
        return hint(**values)
    origin = get_origin(hint)
    if origin is Literal:
        if raw not in get_args(hint):
            allowed = ", ".join(repr(a) for a in get_args(hint))
            raise PlanError(f"corrupt plan: {where} is {raw!r}, expected one of {allowed}")
        return raw
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(raw, list):
            raise PlanError(f"corrupt plan: {where} should be a list, found {_kind(raw)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(raw))
        if len(raw) != len(args):
            raise PlanError(f"corrupt plan: {where} should have {len(args)} items, found {len(raw)}")
        return tuple(_decode(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, raw, strict=True)))
    if origin in (typing.Union, types.UnionType):
        return _decode_union(get_args(hint), raw, where)
    if hint is type(None):
        if raw is not None:
            raise PlanError(f"corrupt plan: {where} should be empty, found {_kind(raw)}")
        return None
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise PlanError(f"corrupt plan: {where} should be a number, found {_kind(raw)}")
        return float(raw)
    if hint in (str, int, bool):
        if type(raw) is not hint:
            raise PlanError(f"corrupt plan: {where} should be {hint.__name__}, found {_kind(raw)}")
        return raw
    raise TypeError(f"plan schema uses an unsupported type {hint!r}")  # schema bug


def _decode_union(options: tuple[Any, ...], raw: Any, where: str) -> Any:
    if raw is None and type(None) in options:
        return None
    # Scalars decode to themselves; pick the exact scalar type so 1 stays int and 1.0 float.
    for option in options:
        if option in (str, int, float, bool) and type(raw) is option:
            return raw
    for option in options:
        if option is type(None) or option in (str, int, float, bool):
            continue
        try:
            return _decode(option, raw, where)
        except PlanError:
            continue
    raise PlanError(f"corrupt plan: {where} has an unexpected value {_kind(raw)}")


def _kind(raw: Any) -> str:
    return type(raw).__name__
