"""Helpers for runtime tests: build `Plan` objects directly, without the compiler."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from adf.diagnostics import Span
from adf.plan.codec import validate_plan
from adf.plan.schema import (
    FORMAT_VERSION,
    Binding,
    DataDecl,
    Demo,
    FnSpec,
    LlmSpec,
    Loss,
    ModelDecl,
    Node,
    OptionValue,
    Output,
    ParamDecl,
    Plan,
    TemplatePart,
    Training,
    Type,
)

SPAN = Span(1, 1, 1, 2)
STR = Type("str")
INT = Type("int")


def model(name: str, base_url: str, **options: OptionValue) -> ModelDecl:
    opts: dict[str, OptionValue] = {"api_base": base_url, "temperature": 0, **options}
    return ModelDecl(name, "openai/fake", tuple(opts.items()), SPAN)


def prompt(name: str, value: str, *, frozen: bool = False, description: str = "") -> ParamDecl:
    return ParamDecl(name, "prompt", value, (), frozen, description, None, SPAN, None)


def demos(name: str, items: Sequence[Mapping[str, str]] = (), *, frozen: bool = False) -> ParamDecl:
    made = tuple(Demo(tuple(d.items())) for d in items)
    return ParamDecl(name, "demos", "", made, frozen, "", 3, SPAN, None)


def data(name: str, type_: Type = STR, field: str | None = None) -> DataDecl:
    return DataDecl(name, type_, field or name, SPAN)


def parts(items: Sequence[str]) -> tuple[TemplatePart, ...]:
    """`"$name"` is a param part; anything else is literal text."""
    return tuple(
        TemplatePart("param", param=i[1:]) if i.startswith("$") else TemplatePart("text", text=i)
        for i in items
    )


def llm(
    node_id: str,
    inputs: Mapping[str, str],
    *,
    system: Sequence[str] = (),
    user: Sequence[str] = (),
    model_name: str = "m",
    out: Type = STR,
    function: str | None = None,
) -> Node:
    name, _, step = node_id.partition("@")
    spec = LlmSpec(function or name, model_name, parts(system), parts(user))
    return Node(node_id, "llm", name, int(step) if step else None, "loop" if step else None,
                tuple(Binding(k, v) for k, v in inputs.items()), out, SPAN, llm=spec)


def fn(node_id: str, ref: str, inputs: Mapping[str, str], *, out: Type = STR) -> Node:
    name, _, step = node_id.partition("@")
    return Node(node_id, "fn", name, int(step) if step else None, "loop" if step else None,
                tuple(Binding(k, v) for k, v in inputs.items()), out, SPAN,
                fn=FnSpec(name, ref))


def const(node_id: str, value: Any, out: Type = STR) -> Node:
    return Node(node_id, "const", node_id, None, None, (), out, SPAN,
                value_json=json.dumps(value))


def loss(name: str, metric: str, pred: str, target: str, **options: OptionValue) -> Loss:
    return Loss(name, metric, pred, target, tuple(options.items()), SPAN)


def plan(
    *,
    models: Sequence[ModelDecl],
    params: Sequence[ParamDecl] = (),
    inputs: Sequence[DataDecl] = (),
    targets: Sequence[DataDecl] = (),
    nodes: Sequence[Node] = (),
    losses: Sequence[Loss] = (),
    outputs: Mapping[str, str] | None = None,
    backward_model: str | None = None,
) -> Plan:
    training = None
    if backward_model is not None:
        training = Training(backward_model, backward_model, None)
    made = Plan(
        FORMAT_VERSION, "test.adf", "0" * 64, tuple(models), tuple(params), tuple(inputs),
        tuple(targets), (), (), tuple(nodes), tuple(losses),
        tuple(Output(k, v, SPAN) for k, v in (outputs or {}).items()), training,
    )
    validate_plan(made)
    return made
