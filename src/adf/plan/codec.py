"""Plan <-> msgpack bytes, with a validating loader.

Takes a `Plan` (or bytes); gives bytes (or a `Plan`, or a `PlanError` that
says what is wrong and where). Encoding is generic over the record classes in
`adf.plan.schema`: each object becomes a map whose keys follow field order,
so the same plan always gives the same bytes. Decoding checks every field's
type against the schema, then the plan's own invariants (unique ids,
topological order, known params and models), so a corrupt, hand-edited or
newer-version plan is refused with a clear message instead of failing later
in the middle of a paid run.
"""

from __future__ import annotations

import gc
import operator
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

import msgpack

from adf import records
from adf.diagnostics import Span
from adf.plan import schema
from adf.plan.regularfile import FileReadError, read_regular_file
from adf.plan.schema import FORMAT_VERSION, EnvRef, Plan

_MAGIC = "adf-plan"


class PlanError(Exception):
    """A plan file that cannot be used; the message is meant for the user."""


def encode_plan(plan: Plan) -> bytes:
    """The plan's bytes; `PlanError` when a value cannot be stored (the compiler
    rules these out: integers beyond 64 bits, text with lone surrogates)."""
    paused = _pause_gc()
    try:
        body = {"magic": _MAGIC, **_encode(plan)}
        packed: bytes = msgpack.packb(body, use_bin_type=True)
    except OverflowError:
        raise PlanError("cannot encode the plan: an integer does not fit in 64 bits") from None
    except UnicodeEncodeError:
        raise PlanError("cannot encode the plan: a text holds a lone surrogate, which is not valid Unicode") from None
    finally:
        if paused:
            gc.enable()
    return packed


def _pause_gc() -> bool:
    """Pause the cyclic GC (plans are acyclic; its scans of a large plan cost more
    than the work); True when it was running and must be re-enabled."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    return paused


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
    paused = _pause_gc()
    try:
        plan = _decode(Plan, fields, "plan")
    finally:
        if paused:
            gc.enable()
    assert isinstance(plan, Plan)
    validate_plan(plan)
    return plan


MAX_PLAN_BYTES = 256_000_000  # a plan of 100,000 params is a few megabytes


def load_plan(path: str) -> Plan:
    """The plan in `path`; a FIFO, a device or a directory is refused without blocking."""
    try:
        data = read_regular_file(path, MAX_PLAN_BYTES, what="plan")
    except FileReadError as exc:
        raise PlanError(f"cannot read plan: {exc}") from None
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
    depths = _loop_depths(plan)
    for node in plan.nodes:
        if node.step is not None and node.loop in depths:
            _check_depth(node.id, node.loop, depths[node.loop])
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
            for part in node.llm.parts:
                if part.kind == "param" and part.param not in params:
                    raise PlanError(f"corrupt plan: node {node.id!r} uses unknown param {part.param!r}")
        elif node.kind == "fn" and node.fn is None:
            raise PlanError(f"corrupt plan: fn node {node.id!r} has no fn spec")
        elif node.kind == "const" and node.value_json is None:
            raise PlanError(f"corrupt plan: const node {node.id!r} has no value")
        elif node.kind == "field" and (node.field is None or len(node.inputs) != 1):
            raise PlanError(f"corrupt plan: field node {node.id!r} needs a field name and one input")
        elif node.kind == "item" and (node.item is None or len(node.inputs) != 1):
            raise PlanError(f"corrupt plan: item node {node.id!r} needs an item number and one input")
        elif node.kind == "map" and (not node.inputs or node.inputs[0].name != "items"):
            raise PlanError(f"corrupt plan: map node {node.id!r} must read its list first")
    for loss in plan.losses:
        for source in (loss.pred, loss.target):
            if source not in seen:
                raise PlanError(f"corrupt plan: loss {loss.name!r} reads unknown value {source!r}")
    loss_names = {loss.name for loss in plan.losses}
    for objective in plan.objectives:
        for term in objective.terms:
            if term.loss not in loss_names:
                raise PlanError(f"corrupt plan: objective {objective.name!r} combines unknown loss {term.loss!r}")
    for output in plan.outputs:
        if output.source not in seen:
            raise PlanError(f"corrupt plan: output {output.name!r} reads unknown value {output.source!r}")
    if plan.training is not None:
        for role in (plan.training.backward_model, plan.training.optimizer_model):
            if role not in models:
                raise PlanError(f"corrupt plan: training uses unknown model {role!r}")


def _loop_depths(plan: Plan) -> dict[str, int]:
    """How many loops each loop is inside, itself included (1 at the top level)."""
    loops = {loop.name: loop for loop in plan.loops}
    depths: dict[str, int] = {}
    for loop in plan.loops:
        depth, parent = 1, loop.parent
        while parent is not None:
            outer = loops.get(parent)
            if outer is None:
                raise PlanError(f"corrupt plan: loop {loop.name!r} is nested in unknown loop {parent!r}")
            depth += 1
            if depth > len(loops):
                raise PlanError(f"corrupt plan: loop {loop.name!r} is nested in itself")
            parent = outer.parent
        depths[loop.name] = depth
    return depths


def _check_depth(node_id: str, loop: str, depth: int) -> None:
    """A node's id has one step per loop around it (`q@1.0`): as many as its loop's depth."""
    steps = node_id.rsplit("@", 1)[1].count(".") + 1
    if steps == depth:
        return
    if depth == 1:  # written before plans named the loop around a nested loop
        raise PlanError(
            f"node {node_id!r} is in a nested loop, but its loop {loop!r} names no loop "
            "around it: the plan was compiled by an older adf; recompile it with `adfc compile`"
        )
    raise PlanError(
        f"corrupt plan: node {node_id!r} has the steps of {steps} loops, but its loop "
        f"{loop!r} is inside {depth - 1} other loop(s)"
    )


def _fresh(name: str, seen: set[str]) -> None:
    if name in seen:
        raise PlanError(f"corrupt plan: the id {name!r} is defined twice")
    seen.add(name)


# --- generic encoding -------------------------------------------------------
#
# Both directions walk the plan generically over the record classes of
# `adf.plan.schema`, with what they learn about each class (field names,
# type hints, decoders) cached on first use: a 50k-node plan holds over a million
# values, so nothing per value may ask `adf.records` or typing again.

# class -> (its field names in order, a getter of all their values at once,
# the fields left out while they hold their default: name -> default);
# record classes only, never EnvRef
_CLASSES: dict[
    type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], Mapping[str, Any]]
] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    cls = type(value)
    if cls in _SCALARS:
        return value
    if cls is tuple:
        return [item if type(item) in _SCALARS else _encode(item) for item in value]
    known = _CLASSES.get(cls)
    if known is not None:
        names, getter, omit = known
        if omit:
            return {
                name: item if type(item) in _SCALARS else _encode(item)
                for name, item in zip(names, getter(value), strict=True)
                if name not in omit or item != omit[name]
            }
        return {
            name: item if type(item) in _SCALARS else _encode(item)
            for name, item in zip(names, getter(value), strict=True)
        }
    return _encode_other(value)


def _encode_other(value: Any) -> Any:
    if isinstance(value, EnvRef):
        return {"$env": value.name}
    cls = type(value)
    if records.has(cls):
        names = tuple(f.name for f in records.fields(cls))
        get = operator.attrgetter(*names) if names else (lambda _: ())
        getter = get if len(names) != 1 else (lambda obj: (get(obj),))
        omit = {f.name: f.default for f in records.fields(cls) if f.metadata.get("omit_default")}
        _CLASSES[cls] = (names, getter, omit)
        return _encode(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} in a plan")  # compiler bug


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        namespace = {**vars(schema), "Span": Span}
        _HINTS[cls] = typing.get_type_hints(cls, globalns=namespace)
    return _HINTS[cls]


# A decoder checks and converts one raw value; `where` names it in errors: a
# string, or (parent, field name or list index), joined only for a message.
_Where = str | tuple[Any, str | int]
_Decoder = typing.Callable[[Any, _Where], Any]


def _path(where: _Where) -> str:
    parts: list[str] = []
    while isinstance(where, tuple):
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return where + "".join(reversed(parts))
_DECODERS: dict[Any, _Decoder] = {}


def _decode(hint: Any, raw: Any, where: _Where) -> Any:
    return _decoder(hint)(raw, where)


def _decoder(hint: Any) -> _Decoder:
    """The decoder for `hint`, built once per hint."""
    found = _DECODERS.get(hint)
    if found is None:
        found = _DECODERS[hint] = _build_decoder(hint)
    return found


def _build_decoder(hint: Any) -> _Decoder:
    if hint is Any:
        return lambda raw, where: raw
    if hint is EnvRef:
        return _decode_env
    if isinstance(hint, type) and records.has(hint):
        return _class_decoder(hint)
    origin = get_origin(hint)
    if origin is Literal:
        allowed_values = get_args(hint)

        def literal(raw: Any, where: _Where) -> Any:
            if raw not in allowed_values:
                allowed = ", ".join(repr(a) for a in allowed_values)
                raise PlanError(f"corrupt plan: {_path(where)} is {raw!r}, expected one of {allowed}")
            return raw

        return literal
    if origin is tuple:
        return _tuple_decoder(get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(get_args(hint))
    if hint is type(None):
        return _decode_none
    if hint is float:
        return _decode_float
    if hint in (str, int, bool):
        scalar: type = hint

        def exact(raw: Any, where: _Where) -> Any:
            if type(raw) is not scalar:
                raise PlanError(f"corrupt plan: {_path(where)} should be {scalar.__name__}, found {_kind(raw)}")
            return raw

        return exact
    raise TypeError(f"plan schema uses an unsupported type {hint!r}")  # schema bug


def _class_decoder(cls: type) -> _Decoder:
    hints = _hints(cls)
    fields = records.fields(cls)
    names = frozenset(f.name for f in fields)
    # Per field: name, hint, required, and the exact scalar type when the hint is
    # str/int/bool (checked inline); decoders are looked up on first use, since
    # hints may refer back to this class.
    spec = [
        (f.name, hints[f.name], f.required, hints[f.name] if hints[f.name] in (str, int, bool) else None)
        for f in fields
    ]
    decoders: list[tuple[str, bool, Any, _Decoder]] = []
    # a record's constructor takes its fields in order
    # how many fields at the end may be left out of the encoding (`OMIT_DEFAULT`)
    trailing_omitted = 0
    for f in reversed(fields):
        if not f.metadata.get("omit_default"):
            break
        trailing_omitted += 1

    def decode(raw: Any, where: _Where) -> Any:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise PlanError(f"corrupt plan: {_path(where)} should be a map, found {_kind(raw)}")
        if not decoders:
            decoders.extend((name, required, scalar, _decoder(hint)) for name, hint, required, scalar in spec)
        if not names.issuperset(raw):
            unknown = sorted(set(raw) - names)
            raise PlanError(f"corrupt plan: {_path(where)} has unknown field {unknown[0]!r}")
        if len(decoders) - trailing_omitted <= len(raw) <= len(decoders):
            # every field present, but for trailing ones left out at their default
            # (the usual case): pass them in order
            try:
                return cls(
                    *[
                        value if type(value) is scalar else field_decoder(value, (where, name))
                        for name, _, scalar, field_decoder in decoders[: len(raw)]
                        for value in (raw[name],)
                    ]
                )
            except KeyError:
                pass  # another field is missing: the slow path says which
        values: dict[str, Any] = {}
        for name, required, scalar, field_decoder in decoders:
            if name in raw:
                value = raw[name]
                if type(value) is scalar:
                    values[name] = value
                else:
                    values[name] = field_decoder(value, (where, name))
            elif required:
                raise PlanError(f"corrupt plan: {_path(where)} is missing field {name!r}")
        return cls(**values)

    return decode


def _tuple_decoder(args: tuple[Any, ...]) -> _Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        item_hint = args[0]

        def homogeneous(raw: Any, where: _Where) -> Any:
            if not isinstance(raw, list):
                raise PlanError(f"corrupt plan: {_path(where)} should be a list, found {_kind(raw)}")
            item = _decoder(item_hint)
            if item_hint in (str, int, bool) and all(type(value) is item_hint for value in raw):
                return tuple(raw)
            return tuple([item(value, (where, i)) for i, value in enumerate(raw)])

        return homogeneous

    def fixed(raw: Any, where: _Where) -> Any:
        if not isinstance(raw, list):
            raise PlanError(f"corrupt plan: {_path(where)} should be a list, found {_kind(raw)}")
        if len(raw) != len(args):
            raise PlanError(f"corrupt plan: {_path(where)} should have {len(args)} items, found {len(raw)}")
        return tuple(_decode(a, item, (where, i)) for i, (a, item) in enumerate(zip(args, raw, strict=True)))

    return fixed


def _decode_env(raw: Any, where: _Where) -> Any:
    if isinstance(raw, Mapping) and set(raw) == {"$env"} and isinstance(raw["$env"], str):
        return EnvRef(raw["$env"])
    raise PlanError(f"corrupt plan: {_path(where)} should be an env reference")


def _decode_none(raw: Any, where: _Where) -> Any:
    if raw is not None:
        raise PlanError(f"corrupt plan: {_path(where)} should be empty, found {_kind(raw)}")
    return None


def _decode_float(raw: Any, where: _Where) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise PlanError(f"corrupt plan: {_path(where)} should be a number, found {_kind(raw)}")
    return float(raw)


def _union_decoder(options: tuple[Any, ...]) -> _Decoder:
    optional = type(None) in options
    # Scalars decode to themselves; pick the exact scalar type so 1 stays int and 1.0 float.
    scalars = frozenset(o for o in options if o in (str, int, float, bool))
    others = [o for o in options if o is not type(None) and o not in scalars]

    def union(raw: Any, where: _Where) -> Any:
        if raw is None and optional:
            return None
        if type(raw) in scalars:
            return raw
        for option in others:
            try:
                return _decode(option, raw, where)
            except PlanError:
                continue
        raise PlanError(f"corrupt plan: {_path(where)} has an unexpected value {_kind(raw)}")

    return union


def _kind(raw: Any) -> str:
    return type(raw).__name__
