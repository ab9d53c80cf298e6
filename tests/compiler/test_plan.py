"""Plans: every field, loop unrolling, ids, determinism, round trip."""

from __future__ import annotations

import hashlib

from adf.plan.codec import decode_plan, encode_plan
from adf.plan.schema import EnvRef, Plan

from .conftest import compile_text

LOOP = """model student = "local" { temperature: 0, api_key: env("API_KEY") }
param qi: prompt "how to ask" = "Write a query."
param fmt: prompt frozen = "One line."
input question: str
target answer: str
llm next_query(question: str, notes: list[str]) -> str using student {
  system: [qi, fmt, "fixed text"]
  user: "Q: {question} N: {notes}"
}
fn search(query: str) -> list[str] = py "retrieval:search"
fn first(text: str) -> str = std.parse.first_line
state notes: list[str] = []
loop hop in 0..3 {
  node q = next_query(question, notes)
  notes = notes + search(q)
}
node pred = first(next_query(question, notes))
loss f1 = std.loss.f1(pred, answer)
output pred
"""


def _plan(text: str = LOOP) -> Plan:
    result = compile_text(text, "dir/loop.adf")
    assert [d.code for d in result.diagnostics if d.is_error] == []
    assert result.plan is not None
    return result.plan


def test_fields() -> None:
    plan = _plan()
    assert plan.source_name == "loop.adf"
    assert plan.source_hash == hashlib.sha256(LOOP.encode()).hexdigest()
    assert plan.models[0].options == (("temperature", 0), ("api_key", EnvRef("API_KEY")))
    assert [p.name for p in plan.params] == ["qi", "fmt"]
    assert plan.params[0].description == "how to ask" and not plan.params[0].frozen
    assert plan.params[1].frozen
    span = plan.params[0].value_span
    assert span is not None
    line = LOOP.splitlines()[span.line - 1]
    assert line[span.col - 1 : span.end_col - 1] == '"Write a query."'
    assert plan.training is not None and plan.training.backward_model == "student"
    assert plan.training.optimizer_model == "student" and plan.training.teacher_model is None
    assert [f.name for f in plan.functions] == ["next_query", "search", "first"]
    assert plan.outputs[0].source == "pred"
    assert plan.losses[0].pred == "pred" and plan.losses[0].target == "answer"


def test_unrolled_ids_and_order() -> None:
    plan = _plan()
    ids = [n.id for n in plan.nodes]
    assert ids == [
        "notes",
        "q@0",
        "notes.1@0",
        "notes@0",
        "q@1",
        "notes.1@1",
        "notes@1",
        "q@2",
        "notes.1@2",
        "notes@2",
        "pred.0",
        "pred",
    ]
    (loop,) = plan.loops
    assert (loop.name, loop.bound, loop.body) == ("hop", 3, ("q", "notes.1", "notes"))
    assert sum(1 for n in plan.nodes if n.loop == "hop") == loop.bound * len(loop.body)
    q1 = plan.node("q@1")
    assert [(b.name, b.source) for b in q1.inputs] == [
        ("question", "question"),
        ("notes", "notes@0"),
    ]
    assert plan.node("pred.0").inputs[1].source == "notes@2"
    # Params are shared across steps: every step refers to the same param.
    assert {p.param for n in plan.nodes if n.llm for p in n.llm.system if p.kind == "param"} == {
        "qi",
        "fmt",
    }
    assert (
        plan.node("notes.1@0").fn is not None
        and plan.node("notes.1@0").fn.ref == "py:retrieval:search"
    )


def test_same_source_same_bytes_and_round_trip() -> None:
    a = encode_plan(_plan())
    b = encode_plan(_plan())
    assert a == b
    assert decode_plan(a) == _plan()


def test_spans_do_not_depend_on_the_path() -> None:
    one = compile_text(LOOP, "a/loop.adf").plan
    two = compile_text(LOOP, "b/c/loop.adf").plan
    assert one is not None and two is not None
    assert encode_plan(one) == encode_plan(two)


def test_default_training_roles_use_first_llm_model() -> None:
    plan = _plan(
        'model a = "local"\nmodel b = "x/y"\ninput q: str\nllm f(q: str) -> str using b { user: "{q}" }\nnode n = f(q)\n'
    )
    assert plan.training is not None
    assert (plan.training.backward_model, plan.training.optimizer_model) == ("b", "b")


def test_no_secret_values_in_plan(monkeypatch: object) -> None:
    import os

    os.environ["API_KEY"] = "sk-secret-value"
    try:
        data = encode_plan(_plan())
    finally:
        del os.environ["API_KEY"]
    assert b"sk-secret-value" not in data
    assert b"API_KEY" in data


def test_state_read_only_by_an_output_gets_its_initial_node() -> None:
    plan = _plan('model m = "local"\ninput q: str\nstate s: str = "start"\noutput s\n')
    assert plan.outputs[0].source == "s"
    assert plan.node("s").value_json == '"start"'


def test_list_with_computed_items_is_built_by_append() -> None:
    plan = _plan(
        'model m = "local"\ninput q: str\nllm ask(q: str) -> str { user: "{q}" }\n'
        "state s: list[str] = []\nloop i in 0..2 {\n node a = ask(q)\n s = s + [a]\n}\noutput s\n"
    )
    appended = plan.node("s.1@1")
    assert appended.fn is not None and appended.fn.ref == "std.op.append"
    assert [b.source for b in appended.inputs] == ["s.1.empty@1", "a@1"]
    assert plan.outputs[0].source == "s@1"


def test_deepest_accepted_nesting_still_round_trips() -> None:
    for depth in (95, 190):
        text = (
            'model m = "local"\ninput q: str\nnode a = '
            + "[" * depth
            + '"x"'
            + "]" * depth
            + "\noutput a\n"
        )
        result = compile_text(text)
        assert result.plan is not None
        assert decode_plan(encode_plan(result.plan)) == result.plan
    nested_type = (
        'model m = "local"\nstate s: ' + "list[" * 95 + "str" + "]" * 95 + " = []\noutput s\n"
    )
    plan = compile_text(nested_type).plan
    assert plan is not None and decode_plan(encode_plan(plan)) == plan
