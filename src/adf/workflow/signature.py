"""A workflow's call signature, and a strict check of a call's inputs with field paths.

Takes a plan; gives `signature` (the declared inputs and the outputs, each
with its type) and `check_inputs`: given the inputs of one call (keyword
arguments from Python, a JSON object from an HTTP request), the row the
runtime reads, or `InputError` listing each `Problem` with the path of the
offending value (`("items", 2, "name")`) and a one-line message. The check
is the JSON schema of the declared types (`adf.runtime.structured.type_schema`,
also what `/openapi.json` publishes): strings are strings, an `int` is an
integer (not a bool, not a numeric string), a `float` any number, an enum
one of its labels, a record has exactly its fields. This is stricter than
reading a data file, where `"3"` is accepted as an `int`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from adf.runtime.values import value_problem

if TYPE_CHECKING:
    from adf.plan.schema import Plan, Type

Path = tuple[str | int, ...]


@attrs.frozen
class Signature:
    inputs: tuple[tuple[str, Type], ...]
    outputs: tuple[tuple[str, Type], ...]


def signature(plan: Plan) -> Signature:
    """The declared inputs and the outputs of one call, each with its type."""
    types = {decl.name: decl.type for decl in plan.inputs}
    types.update({node.id: node.output_type for node in plan.nodes})
    from adf.plan.schema import Type

    outputs = tuple((o.name, types.get(o.source, Type("any"))) for o in plan.outputs)
    return Signature(tuple((d.name, d.type) for d in plan.inputs), outputs)


@attrs.frozen
class Problem:
    path: Path
    message: str

    def location(self) -> str:
        """The path as `items[2].name`."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "(inputs)"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class InputError(ValueError):
    """Inputs that do not fit the workflow's declared types; `problems` name each field."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @property
    def field(self) -> str:
        """The first offending field's path."""
        return self.problems[0].location()


def check_inputs(plan: Plan, given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` as a data row the runtime reads, or `InputError` naming every bad field."""
    if not isinstance(given, Mapping):  # a batch row that is not an object
        raise InputError((Problem((), f"expected an object of inputs, found {_json_kind(given)}"),))
    problems: list[Problem] = []
    declared = {decl.name: decl for decl in plan.inputs}
    for name in given:
        if name not in declared:
            known = ", ".join(declared) or "none"
            problems.append(Problem((str(name),), f"unknown input (declared: {known})"))
    row: dict[str, Any] = {}
    for decl in plan.inputs:
        if decl.name not in given:
            problems.append(Problem((decl.name,), f"missing input of type {decl.type}"))
            continue
        problems.extend(check_value(given[decl.name], decl.type, (decl.name,)))
        row[decl.field] = given[decl.name]
    if problems:
        raise InputError(tuple(problems))
    return row


def check_value(value: Any, type_: Type, path: Path) -> list[Problem]:
    """Every place where `value` departs from `type_` (empty when it fits)."""
    match type_.kind:
        case "any":
            return []
        case "str":
            if not isinstance(value, str):
                return [_expected(value, type_, path)]
            problem = value_problem(value)  # a lone surrogate: no provider would take it
            return [] if problem is None else [Problem(path, problem)]
        case "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return [] if ok else [_expected(value, type_, path)]
        case "float":
            ok = (isinstance(value, int | float) and not isinstance(value, bool)
                  and math.isfinite(value))
            return [] if ok else [_expected(value, type_, path)]
        case "bool":
            return [] if isinstance(value, bool) else [_expected(value, type_, path)]
        case "enum":
            if isinstance(value, str) and value in type_.values:
                return []
            return [_expected(value, type_, path)]
        case "list":
            if not isinstance(value, list | tuple):
                return [_expected(value, type_, path)]
            assert type_.of is not None
            return [p for i, item in enumerate(value) for p in check_value(item, type_.of, (*path, i))]
        case "record":
            if not isinstance(value, Mapping):
                return [_expected(value, type_, path)]
            fields = dict(type_.fields)
            problems = [Problem((*path, str(k)), "unknown field") for k in value if k not in fields]
            for name, field_type in type_.fields:
                if name not in value:
                    problems.append(Problem((*path, name), f"missing field of type {field_type}"))
                else:
                    problems.extend(check_value(value[name], field_type, (*path, name)))
            return problems
    raise AssertionError(f"unknown type kind {type_.kind!r}")  # plan bug


def _expected(value: Any, type_: Type, path: Path) -> Problem:
    from adf.runtime.values import describe

    return Problem(path, f"expected {type_}, found {_json_kind(value)} {describe(value)}")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
