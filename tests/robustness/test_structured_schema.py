"""Schemas derived from plan types, reading replies back, and bounding free strings."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from adf.llm.requests import bound_strings
from adf.plan.schema import Type
from adf.runtime.structured import output_schema, read_structured
from adf.runtime.values import ValueFailure

STR, INT, FLOAT, BOOL = Type("str"), Type("int"), Type("float"), Type("bool")
LABELS = Type("enum", values=("ABBR", "LOC"))


def test_free_text_outputs_have_no_schema() -> None:
    assert output_schema(STR) is None
    assert output_schema(Type("any")) is None


def test_scalars_are_wrapped_in_an_object_root() -> None:
    for type_, inner in ((INT, {"type": "integer"}), (FLOAT, {"type": "number"}),
                         (BOOL, {"type": "boolean"}),
                         (LABELS, {"type": "string", "enum": ["ABBR", "LOC"]})):
        text = output_schema(type_)
        assert text is not None
        schema = json.loads(text)
        assert schema["type"] == "object" and schema["required"] == ["answer"]
        assert schema["properties"]["answer"] == inner


def test_records_are_the_root_object_itself() -> None:
    record = Type("record", fields=(("n", INT), ("tags", Type("list", of=STR))))
    schema = json.loads(output_schema(record) or "")
    assert schema["required"] == ["n", "tags"] and schema["additionalProperties"] is False
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}


def test_read_structured_unwraps_and_coerces() -> None:
    assert read_structured('{"answer": 12}', INT) == 12
    assert read_structured(' {"answer": 3} ', FLOAT) == 3.0
    assert read_structured('{"answer": "loc"}', LABELS) == "LOC"
    assert isinstance(read_structured("Answer: 12", INT), ValueFailure)
    assert isinstance(read_structured('{"count": 12}', INT), ValueFailure)
    assert isinstance(read_structured('{"answer": "NUM"}', LABELS), ValueFailure)


def test_bound_strings_fits_every_free_string_into_the_token_cap() -> None:
    schema = {"type": "object", "required": ["a", "b", "c"], "properties": {
        "a": {"type": "string"}, "b": {"type": "string", "enum": ["x"]},
        "c": {"type": "array", "items": {"type": "string"}}}}
    bounded = json.loads(bound_strings(json.dumps(schema), 100))
    a = bounded["properties"]["a"]["maxLength"]
    assert a == bounded["properties"]["c"]["items"]["maxLength"]
    assert "maxLength" not in bounded["properties"]["b"]
    assert 2 * a <= 100 * 3  # both strings together fit in the cap at 3 chars a token
    assert bound_strings('{"type": "object", "properties": {"n": {"type": "integer"}}}', 10) \
        == '{"type": "object", "properties": {"n": {"type": "integer"}}}'
    kept = {"type": "string", "maxLength": 5}
    assert json.loads(bound_strings(json.dumps(kept), 1000)) == kept
    assert bound_strings("not json", 10) == "not json"


def types(depth: int = 2) -> st.SearchStrategy[Type]:
    leaves = st.sampled_from([STR, INT, FLOAT, BOOL, LABELS])
    if depth == 0:
        return leaves
    inner = types(depth - 1)
    names = st.lists(st.sampled_from(["a", "b", "n", "why"]), min_size=1, max_size=3,
                     unique=True)
    return st.one_of(
        leaves,
        inner.map(lambda t: Type("list", of=t)),
        st.tuples(names, st.lists(inner, min_size=3, max_size=3)).map(
            lambda p: Type("record", fields=tuple(zip(p[0], p[1], strict=False)))),
    )


def values(type_: Type) -> st.SearchStrategy[Any]:
    match type_.kind:
        case "str":
            return st.text(max_size=8)
        case "int":
            return st.integers(-1000, 1000)
        case "float":
            return st.floats(-1e6, 1e6, allow_nan=False)
        case "bool":
            return st.booleans()
        case "enum":
            return st.sampled_from(type_.values)
        case "list":
            assert type_.of is not None
            return st.lists(values(type_.of), max_size=3)
    return st.fixed_dictionaries({name: values(t) for name, t in type_.fields})


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_value_in_schema_form_validates_and_reads_back_unchanged(data: st.DataObject) -> None:
    type_ = data.draw(types())
    value = data.draw(values(type_))
    text = output_schema(type_)
    if text is None:
        assert type_.kind == "str"
        return
    schema = json.loads(text)
    reply = value if type_.kind == "record" else {"answer": value}
    jsonschema.validate(reply, schema)
    assert read_structured(json.dumps(reply), type_) == value


def test_raw_newlines_inside_json_strings_are_read() -> None:
    # llama.cpp's JSON grammar lets a model write a raw newline inside a string
    record = Type("record", fields=(("why", STR), ("n", INT)))
    assert read_structured('{"why": "one\ntwo", "n": 2}', record) == {"why": "one\ntwo", "n": 2}
    from adf.runtime.values import parse_text

    assert parse_text('Here: {"why": "a\nb", "n": 1} done', record) == {"why": "a\nb", "n": 1}
