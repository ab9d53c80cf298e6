"""Value types: conversion from type syntax, assignability, literal types.

Takes type expressions (`adf.syntax.ast`) or type strings in `.adf`
syntax (the std signature table); gives `adf.plan.schema.Type` values and
the rules the type checker applies on every edge. `None` stands for an
unknown type: the error that made it unknown was already reported, so
every check involving `None` passes silently (no cascades).
"""

from __future__ import annotations

import re
from typing import Literal

from adf.plan.schema import TOOL_CALL, Type
from adf.syntax import ast

STR = Type("str")
INT = Type("int")
FLOAT = Type("float")
BOOL = Type("bool")
ANY = Type("any")
SCALARS = {"str": STR, "int": INT, "float": FLOAT, "bool": BOOL}
# the value of an llm with tools (adf.compiler.tools); a type name like the scalars
NAMED = {**SCALARS, "tool_call": TOOL_CALL}


def list_of(item: Type) -> Type:
    return Type("list", of=item)


def assignable(src: Type | None, dst: Type | None) -> bool:
    """Can a value of type `src` flow where `dst` is expected?"""
    if src is None or dst is None or src.kind == "any" or dst.kind == "any":
        return True
    if src == dst:
        return True
    if src.kind == "int" and dst.kind == "float":
        return True
    if src.kind == "enum" and dst.kind == "str":
        return True
    if src.kind == "enum" and dst.kind == "enum":
        return set(src.values) <= set(dst.values)
    if src.kind == "list" and dst.kind == "list":
        return assignable(src.of, dst.of)
    if src.kind == "record" and dst.kind == "record":
        if not dst.fields or not src.fields:  # an open record (a Python dict annotation)
            return True
        have = dict(src.fields)
        return all(name in have and assignable(have[name], t) for name, t in dst.fields)
    return False


def comparable(a: Type | None, b: Type | None) -> bool:
    """Can a metric compare values of these types (either direction flows)?"""
    return assignable(a, b) or assignable(b, a) or _both_text(a, b)


def _both_text(a: Type | None, b: Type | None) -> bool:
    return a is not None and b is not None and {a.kind, b.kind} <= {"str", "enum"}


def add_result(left: Type | None, right: Type | None) -> Type | bool | None:
    """The type of `left + right`; False when the operands cannot be added."""
    if left is None or right is None:
        return None
    if left.kind == "any":
        return right
    if right.kind == "any":
        return left
    kinds = {left.kind, right.kind}
    if kinds <= {"int", "float"}:
        return FLOAT if "float" in kinds else INT
    if kinds <= {"str", "enum"}:
        return STR
    if left.kind == "list" and right.kind == "list":
        if assignable(right, left):
            return left
        if assignable(left, right):
            return right
    return False


def field_type(record: Type | None, name: str) -> Type | Literal[False] | None:
    """The type of `record.name`; None when unknown, False when there is no such field.

    An open record (a Python dict annotation, no fields listed) or `any`
    gives `any`: the field is looked up when the workflow runs.
    """
    if record is None:
        return None
    if record.kind == "any" or (record.kind == "record" and not record.fields):
        return ANY
    if record.kind == "record":
        return dict(record.fields).get(name, False)
    return False


def parseable(t: Type, depth: int = 0) -> bool:
    """Can an LLM's text reply be parsed into `t`? Scalars, enums, flat lists and records."""
    if t.kind in ("str", "int", "float", "bool", "enum"):
        return not (t.kind == "enum" and not t.values)
    if depth >= 2:
        return False
    if t.kind == "list":
        return t.of is not None and t.of.kind != "list" and parseable(t.of, depth + 1)
    if t.kind == "record":
        return bool(t.fields) and all(parseable(f, depth + 1) for _, f in t.fields)
    return False


def literal_type(expr: ast.Expr) -> Type | None:
    """The type of a literal expression, or None when it is not a literal.

    Iterative over nesting depth is unnecessary: the parser caps nesting.
    """
    match expr:
        case ast.StrLit():
            return STR
        case ast.IntLit():
            return INT
        case ast.FloatLit():
            return FLOAT
        case ast.BoolLit():
            return BOOL
        case ast.ListLit(items=items):
            item_type: Type = ANY
            for item in items:
                t = literal_type(item)
                if t is None:
                    return None
                if item_type.kind == "any":
                    item_type = t
                elif assignable(t, item_type):
                    continue
                elif assignable(item_type, t):
                    item_type = t
                else:
                    return list_of(ANY)
            return list_of(item_type)
        case ast.RecordLit(fields=fields):
            out: list[tuple[str, Type]] = []
            for name, value in fields:
                t = literal_type(value)
                if t is None:
                    return None
                out.append((name.name, t))
            return Type("record", fields=tuple(out))
    return None


def literal_fits(expr: ast.Expr, dst: Type | None) -> bool:
    """Can the literal `expr` be stored where `dst` is expected?

    As `assignable(literal_type(expr), dst)`, except that a string literal
    also fits an enum that lists its text (`state s: enum{A, B} = "A"`).
    """
    if dst is not None:
        match expr:
            case ast.StrLit(value=value) if dst.kind == "enum":
                return value in dst.values
            case ast.ListLit(items=items) if dst.kind == "list":
                return all(literal_fits(item, dst.of) for item in items)
            case ast.RecordLit(fields=fields) if dst.kind == "record" and dst.fields:
                want = dict(dst.fields)
                have = {name.name: value for name, value in fields}
                return all(n in have and literal_fits(have[n], t) for n, t in want.items())
    return assignable(literal_type(expr), dst)


def literal_value(expr: ast.Expr) -> object:
    """The Python value of a literal expression (call only when `literal_type` is not None)."""
    match expr:
        case (
            ast.StrLit(value=v) | ast.IntLit(value=v) | ast.FloatLit(value=v) | ast.BoolLit(value=v)
        ):
            return v
        case ast.ListLit(items=items):
            return [literal_value(i) for i in items]
        case ast.RecordLit(fields=fields):
            return {name.name: literal_value(value) for name, value in fields}
    raise ValueError("not a literal")  # compiler bug


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[\[\]{},:])")


def parse_type_text(text: str) -> Type:
    """Parse a type written in `.adf` syntax (used for the std signature table)."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    pos = 0

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse_one() -> Type:
        word = take()
        if word == "list":
            take()  # [
            inner = parse_one()
            take()  # ]
            return list_of(inner)
        if word == "enum":
            take()  # {
            values = []
            while tokens[pos] != "}":
                values.append(take())
                if tokens[pos] == ",":
                    take()
            take()
            return Type("enum", values=tuple(values))
        if word == "{":
            fields = []
            while tokens[pos] != "}":
                name = take()
                take()  # :
                fields.append((name, parse_one()))
                if tokens[pos] == ",":
                    take()
            take()
            return Type("record", fields=tuple(fields))
        if word == "any":
            return ANY
        return SCALARS[word]

    return parse_one()
