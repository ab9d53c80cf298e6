"""The plan codec: exact round trip, deterministic bytes, clear refusals."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adf.diagnostics import Span
from adf.plan import FORMAT_VERSION, PlanError, decode_plan, encode_plan
from adf.plan.schema import (
    Binding,
    DataDecl,
    EnvRef,
    FnSpec,
    LlmSpec,
    Loss,
    ModelDecl,
    Node,
    Output,
    ParamDecl,
    Plan,
    TemplatePart,
    Training,
    Type,
)
from adf.records import replace

SPAN = Span(1, 1, 1, 5)
STR = Type("str")


def small_plan(**changes: object) -> Plan:
    plan = Plan(
        format_version=FORMAT_VERSION,
        source_name="demo.adf",
        source_hash="ab" * 32,
        models=(
            ModelDecl(
                "student",
                "local",
                (("temperature", 0.0), ("max_tokens", 64), ("api_key", EnvRef("KEY"))),
                SPAN,
            ),
        ),
        params=(
            ParamDecl("instruction", "prompt", "Count.", (), False, "task", None, SPAN, SPAN),
        ),
        inputs=(DataDecl("question", STR, "question", SPAN),),
        targets=(DataDecl("answer", Type("int"), "answer", SPAN),),
        functions=(),
        loops=(),
        nodes=(
            Node(
                "reply",
                "llm",
                "reply",
                None,
                None,
                (Binding("question", "question"),),
                STR,
                SPAN,
                llm=LlmSpec(
                    "solve",
                    "student",
                    (TemplatePart("param", param="instruction"),),
                    (TemplatePart("text", text="{question}"),),
                ),
            ),
            Node(
                "pred",
                "fn",
                "pred",
                None,
                None,
                (Binding("text", "reply"),),
                Type("int"),
                SPAN,
                fn=FnSpec("last_int", "std.parse.last_int"),
            ),
        ),
        losses=(Loss("acc", "std.loss.exact_match", "pred", "answer", (), SPAN),),
        outputs=(Output("pred", "pred", SPAN),),
        training=Training("student", "student", None),
    )

    return replace(plan, **changes)


def test_round_trip_is_exact() -> None:
    plan = small_plan()
    assert decode_plan(encode_plan(plan)) == plan


def test_same_plan_same_bytes() -> None:
    assert encode_plan(small_plan()) == encode_plan(small_plan())


def test_env_reference_survives_and_holds_no_value() -> None:
    data = encode_plan(small_plan())
    assert b"KEY" in data
    model = decode_plan(data).models[0]
    assert dict(model.options)["api_key"] == EnvRef("KEY")


def test_newer_version_is_refused_with_upgrade_hint() -> None:
    raw = msgpack.unpackb(encode_plan(small_plan()))
    raw["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(PlanError, match="newer than this adf"):
        decode_plan(msgpack.packb(raw))


def test_wrong_field_type_names_the_field() -> None:
    raw = msgpack.unpackb(encode_plan(small_plan()))
    raw["nodes"][1]["inputs"][0]["source"] = 7
    with pytest.raises(PlanError, match=r"nodes\[1\]\.inputs\[0\]\.source"):
        decode_plan(msgpack.packb(raw))


def test_out_of_order_nodes_are_refused() -> None:
    plan = small_plan()
    swapped = small_plan(nodes=(plan.nodes[1], plan.nodes[0]))
    with pytest.raises(PlanError, match="topological order"):
        decode_plan(encode_plan(swapped))


def test_unknown_param_is_refused() -> None:
    with pytest.raises(PlanError, match="unknown param"):
        decode_plan(encode_plan(small_plan(params=())))


@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        decode_plan(data)
    except PlanError as exc:
        assert str(exc)


@given(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=4))
def test_corrupted_plans_are_refused_or_valid(cut: int, junk: bytes) -> None:
    data = encode_plan(small_plan())
    corrupted = data[:cut] + junk + data[cut + len(junk) :]
    try:
        plan = decode_plan(corrupted)
    except PlanError:
        return
    assert isinstance(plan, Plan)
