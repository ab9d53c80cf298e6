"""The codec's per-class caches change nothing: same bytes, same refusals."""

from __future__ import annotations

import pathlib
from typing import Any

import msgpack
import pytest

from adf import records
from adf.compiler.pipeline import compile_file
from adf.plan import PlanError, decode_plan, encode_plan
from adf.plan.schema import EnvRef, Plan

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*/*.adf"))


def _reference(value: Any) -> Any:
    """The encoding the plan format specifies, written plainly (no caches)."""
    if isinstance(value, EnvRef):
        return {"$env": value.name}
    if records.has(type(value)):  # fields marked omit_default are left out at their default
        return {
            f.name: _reference(getattr(value, f.name))
            for f in records.fields(type(value))
            if not (f.metadata.get("omit_default") and getattr(value, f.name) == f.default)
        }
    if isinstance(value, tuple):
        return [_reference(item) for item in value]
    return value


def _compiled(path: pathlib.Path) -> Plan:
    result = compile_file(str(path))
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_bytes_equal_the_plain_encoding(path: pathlib.Path) -> None:
    plan = _compiled(path)
    expected = msgpack.packb({"magic": "adf-plan", **_reference(plan)}, use_bin_type=True)
    assert encode_plan(plan) == expected
    assert decode_plan(expected) == plan


def test_fields_new_in_formats_2_and_3_are_left_out_at_their_default() -> None:
    plan = _compiled(EXAMPLES[0])
    raw = msgpack.unpackb(encode_plan(plan), raw=False)
    assert "objectives" not in raw and all("field" not in node for node in raw["nodes"])
    assert all("item" not in node and "when" not in node for node in raw["nodes"])
    assert raw["format_version"] == 3


def _corrupt(plan: Plan, edit: Any) -> bytes:
    raw = msgpack.unpackb(encode_plan(plan), raw=False)
    edit(raw)
    packed: bytes = msgpack.packb(raw, use_bin_type=True)
    return packed


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["nodes"][0].pop("kind"), r"plan\.nodes\[0\] is missing field 'kind'"),
        (lambda r: r["nodes"][0].update(extra=1), r"plan\.nodes\[0\] has unknown field 'extra'"),
        (lambda r: r["nodes"][0].update(kind="nope"), r"plan\.nodes\[0\]\.kind is 'nope', expected one of"),
        (lambda r: r["models"][0].update(span=[1]), r"plan\.models\[0\]\.span should be a map, found list"),
        (lambda r: r["nodes"][0]["span"].update(line="x"), r"plan\.nodes\[0\]\.span\.line should be int, found str"),
        (lambda r: r.update(nodes={}), r"plan\.nodes should be a list, found dict"),
    ],
)
def test_refusals_name_the_place(edit: Any, message: str) -> None:
    plan = _compiled(EXAMPLES[0])
    with pytest.raises(PlanError, match=message):
        decode_plan(_corrupt(plan, edit))
