"""Typed values: coerce data and function results, parse model text, render for prompts.

Takes a `Type` from the plan and a Python value or a model's raw text; gives
the value in the declared type, or a `ValueFailure` that says in one line why
not. Failures are values, never exceptions, so a malformed model reply becomes
a sample error with its own textual loss instead of a crash.

- `coerce(value, type)` is for data rows and function results: it accepts the
  obvious conversions (`"15"` for an int, `3` for a float, a label in any case
  for an enum) and refuses the rest.
- `parse_text(text, type)` is for model output and is lenient the way a small
  model needs: an int is the last integer in the text, an enum the last label
  that appears as a word, a list or record may sit in a fenced JSON block.
- `render(value)` turns a value into prompt text: strings as they are, lists of
  scalars as one "- item" line each, records and nested lists as JSON.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from adf.plan.schema import Type

MAX_DEPTH = 64  # arrays and objects inside one value read from a data row or a reply


@attrs.frozen
class ValueFailure:
    """Why a value does not fit its declared type (one line, for the user and the loss)."""

    message: str


_INT = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?![\d])")
_NUMBER = re.compile(r"(?<![\w])[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRUE = {"true", "yes", "y", "1", "correct", "right"}
_FALSE = {"false", "no", "n", "0", "incorrect", "wrong"}


def coerce(value: Any, type_: Type) -> Any:
    """`value` in `type_`, or a `ValueFailure`. Strings are converted where unambiguous."""
    match type_.kind:
        case "any":
            return value
        case "str":
            if isinstance(value, str | bool | int | float):
                return render(value)  # scalars read as text the way prompts show them
            return _fail(value, type_)
        case "int":
            if isinstance(value, bool):
                return _fail(value, type_)
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
                return int(value)
            return _fail(value, type_)
        case "float":
            if isinstance(value, bool):
                return _fail(value, type_)
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, str):
                try:
                    number = float(value.strip())
                except ValueError:
                    return _fail(value, type_)
                if math.isfinite(number):
                    return number
            return _fail(value, type_)
        case "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            return _fail(value, type_)
        case "enum":
            if isinstance(value, str):
                label = _enum_exact(value, type_.values)
                if label is not None:
                    return label
            return _fail(value, type_)
        case "list":
            if not isinstance(value, list | tuple):
                return _fail(value, type_)
            assert type_.of is not None
            items = []
            for index, item in enumerate(value):
                coerced = coerce(item, type_.of)
                if isinstance(coerced, ValueFailure):
                    return ValueFailure(f"item {index}: {coerced.message}")
                items.append(coerced)
            return items
        case "record":
            if not isinstance(value, Mapping):
                return _fail(value, type_)
            record: dict[str, Any] = {}
            for name, field_type in type_.fields:
                if name not in value:
                    return ValueFailure(f"field {name!r} is missing (expected {type_})")
                coerced = coerce(value[name], field_type)
                if isinstance(coerced, ValueFailure):
                    return ValueFailure(f"field {name!r}: {coerced.message}")
                record[name] = coerced
            return record
    raise AssertionError(f"unknown type kind {type_.kind!r}")  # plan bug


def parse_text(text: str, type_: Type) -> Any:
    """The value a model meant by `text`, in `type_`, or a `ValueFailure`."""
    stripped = text.strip()
    match type_.kind:
        case "str":
            return stripped
        case "any":
            loaded = _json_block(stripped)
            return stripped if loaded is None else loaded[0]
        case "int":
            found = _INT.findall(stripped)
            if not found:
                return ValueFailure(f"expected an integer, found {_preview(stripped)}")
            try:
                return int(found[-1].replace(",", ""))
            except ValueError:  # over Python's digit limit (sys.get_int_max_str_digits)
                return ValueFailure(f"expected an integer, found one of {len(found[-1]):,} digits")
        case "float":
            numbers = _NUMBER.findall(stripped)
            if not numbers:
                return ValueFailure(f"expected a number, found {_preview(stripped)}")
            try:
                return float(numbers[-1].replace(",", ""))
            except ValueError:  # pragma: no cover - the regex only matches numbers
                return ValueFailure(f"expected a number, found {_preview(stripped)}")
        case "bool":
            words = re.findall(r"[A-Za-z]+|\d", stripped.lower())
            for word in words:
                if word in _TRUE:
                    return True
                if word in _FALSE:
                    return False
            return ValueFailure(f"expected yes/no or true/false, found {_preview(stripped)}")
        case "enum":
            return _parse_enum(stripped, type_)
        case "list" | "record":
            return _parse_structured(stripped, type_)
    raise AssertionError(f"unknown type kind {type_.kind!r}")  # plan bug


def render(value: Any) -> str:
    """Prompt text for a value; never re-read as a template."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list | tuple):
        if not value:
            return "(none)"
        if all(isinstance(item, str | int | float | bool) for item in value):
            return "\n".join("- " + render(item).replace("\n", " ") for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def value_problem(value: Any) -> str | None:
    """Why a decoded JSON value (a data row, a reply) cannot be used: nested more than
    `MAX_DEPTH` deep, or a string holding a lone surrogate (no provider accepts it); None
    when it can. No recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return "a string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def describe(value: Any) -> str:
    """A short one-line quotation of a value for loss and error messages."""
    if isinstance(value, str):
        return _preview(value, limit=200)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _parse_enum(text: str, type_: Type) -> Any:
    exact = _enum_exact(text, type_.values)
    if exact is not None:
        return exact
    # The last label that appears as a whole word (models often explain, then answer).
    best: tuple[int, str] | None = None
    for label in type_.values:
        pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(label) + r"(?![A-Za-z0-9_])", re.I)
        for match in pattern.finditer(text):
            if best is None or match.start() > best[0]:
                best = (match.start(), label)
    if best is not None:
        return best[1]
    return ValueFailure(f"expected one of {', '.join(type_.values)}, found {_preview(text)}")


def _enum_exact(text: str, values: tuple[str, ...]) -> str | None:
    key = _label_key(text)
    for label in values:
        if _label_key(label) == key:
            return label
    return None


def _label_key(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def _parse_structured(text: str, type_: Type) -> Any:
    loaded = _json_block(text)
    if loaded is not None:
        coerced = coerce(loaded[0], type_)
        if not isinstance(coerced, ValueFailure):
            return coerced
        if type_.kind == "record":
            return ValueFailure(f"the JSON reply does not fit {type_}: {coerced.message}")
    if type_.kind == "list":
        assert type_.of is not None
        lines = [
            re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip()
            for line in text.splitlines()
        ]
        items = [line for line in lines if line]
        parsed = []
        for item in items:
            value = parse_text(item, type_.of)
            if isinstance(value, ValueFailure):
                return ValueFailure(f"expected {type_}, found {_preview(text)} ({value.message})")
            parsed.append(value)
        return parsed
    return ValueFailure(f"expected a JSON object {type_}, found {_preview(text)}")


def _json_block(text: str) -> tuple[Any] | None:
    """The first JSON value in `text` (fenced, whole, or the first {...}/[...]), if any;
    a value `value_problem` refuses (too deep, a lone surrogate) is none."""
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)]
    candidates.append(text)
    decoder = json.JSONDecoder(strict=False)  # raw newlines inside strings
    try:
        for candidate in candidates:
            with contextlib.suppress(ValueError):
                return _usable(decoder.decode(candidate))
            for index, char in enumerate(candidate):
                if char in "[{":
                    with contextlib.suppress(ValueError):
                        return _usable(decoder.raw_decode(candidate, index)[0])
    except RecursionError:  # nested past the interpreter's stack: no usable value
        return None
    return None


def _usable(value: Any) -> tuple[Any] | None:
    return (value,) if value_problem(value) is None else None


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _fail(value: Any, type_: Type) -> ValueFailure:
    return ValueFailure(f"expected {type_}, found {describe(value)}")


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "an empty reply"
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return repr(flat)
