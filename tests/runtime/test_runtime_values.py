from __future__ import annotations

import pytest

from adf.plan.schema import Type
from adf.runtime.values import ValueFailure, coerce, parse_text, render

INT = Type("int")
FLOAT = Type("float")
LABEL = Type("enum", values=("ABBR", "DESC", "LOC", "NUM"))
LIST = Type("list", of=Type("str"))
RECORD = Type("record", fields=(("name", Type("str")), ("n", Type("int"))))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15", 15), ("Answer: 15", 15), ("I count 3, then 1,204 total", 1204),
     ("-7 degrees", -7), ("3.5 apples then 4", 4)],
)
def test_parse_int_takes_last_integer(text: str, expected: int) -> None:
    assert parse_text(text, INT) == expected


def test_parse_failures_are_values_not_exceptions() -> None:
    failure = parse_text("no idea", INT)
    assert isinstance(failure, ValueFailure)
    assert "expected an integer" in failure.message and "no idea" in failure.message
    assert isinstance(parse_text("", LABEL), ValueFailure)
    assert "empty reply" in parse_text("  ", FLOAT).message


def test_parse_enum_is_tolerant() -> None:
    assert parse_text("loc", LABEL) == "LOC"
    assert parse_text("Loc.", LABEL) == "LOC"
    assert parse_text("This asks for a place, so the label is LOC.", LABEL) == "LOC"
    # the last label mentioned wins (models explain, then answer)
    assert parse_text("Not DESC; it is NUM", LABEL) == "NUM"
    failure = parse_text("a place", LABEL)
    assert isinstance(failure, ValueFailure) and "ABBR, DESC, LOC, NUM" in failure.message


def test_parse_bool_and_float() -> None:
    assert parse_text("Yes, it is.", Type("bool")) is True
    assert parse_text("false", Type("bool")) is False
    assert parse_text("about 3.25 kg", FLOAT) == 3.25
    assert parse_text("1e3", FLOAT) == 1000.0


def test_parse_list_and_record_from_json_or_lines() -> None:
    assert parse_text('```json\n["a", "b"]\n```', LIST) == ["a", "b"]
    assert parse_text("- first\n- second\n", LIST) == ["first", "second"]
    assert parse_text('Here: {"name": "x", "n": "3"} done', RECORD) == {"name": "x", "n": 3}
    failure = parse_text('{"name": "x"}', RECORD)
    assert isinstance(failure, ValueFailure) and "'n' is missing" in failure.message


def test_coerce_data_values() -> None:
    assert coerce("15", INT) == 15
    assert coerce(15.0, INT) == 15
    assert isinstance(coerce("15.5", INT), ValueFailure)
    assert isinstance(coerce(True, INT), ValueFailure)
    assert coerce(3, FLOAT) == 3.0
    assert coerce("desc", LABEL) == "DESC"
    assert isinstance(coerce("PLACE", LABEL), ValueFailure)
    assert coerce(4, Type("str")) == "4"
    assert coerce(["a"], LIST) == ["a"]
    failure = coerce(["a", 1.5], Type("list", of=INT))
    assert isinstance(failure, ValueFailure) and failure.message.startswith("item 0")


def test_render_values_for_prompts() -> None:
    assert render("x {y}") == "x {y}"
    assert render(3.0) == "3"
    assert render(True) == "true"
    assert render([]) == "(none)"
    assert render(["a", "b"]) == "- a\n- b"
    assert render({"k": [1]}) == '{"k": [1]}'
