"""Conditions: comparisons and `and`/`or`/`not` in `if` and `until`."""

from __future__ import annotations

import pytest

from adf.plan import decode_plan, encode_plan
from adf.plan.schema import Guard

from .conftest import codes, compile_text, plan_of

BASE = """model m = "local"
param p: prompt = "Rate it."
input question: str
target answer: str
const most = 3
llm rate(question: str) -> int using m { system: [p] user: "{question}" }
llm kind(question: str) -> enum{math, other} using m { user: "{question}" }
llm sure(question: str) -> bool using m { user: "{question}" }
llm solve(question: str) -> str using m { user: "{question}" }
llm chat(question: str) -> str using m { user: "{question}" }
"""
IF = BASE + """node level = rate(question)
node pred = if level >= 3 and not (kind(question) == "math") or sure(question) then solve(question) else chat(question)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""
UNTIL = BASE + """state tries: int = 0
state notes: str = ""
loop t in 0..most until done or tries >= 2 {
  node draft = solve(question + notes)
  node done = sure(draft)
  notes = notes + draft
  tries = tries + 1
}
loss acc = std.loss.exact_match(notes, answer)
output notes
"""



def test_conditions_compile_to_std_op_nodes_in_precedence_order() -> None:
    plan = plan_of(IF)
    ops = {n.id: (n.fn.ref if n.fn else n.kind, [b.source for b in n.inputs]) for n in plan.nodes}
    assert ops["pred.0"] == ("std.op.or", ["pred.0.0", "pred.0.1"])
    assert ops["pred.0.0"] == ("std.op.and", ["pred.0.0.0", "pred.0.0.1"])
    assert ops["pred.0.0.0"] == ("std.op.ge", ["level", "pred.0.0.0.1"])
    assert ops["pred.0.0.1"] == ("std.op.not", ["pred.0.0.1.0"])
    assert ops["pred.0.0.1.0"][0] == "std.op.eq"
    assert plan.node("pred.1").when == (Guard("pred.0", ("true",)),)
    assert str(plan.node("pred.0").output_type) == "bool"
    assert decode_plan(encode_plan(plan)) == plan


def test_a_chain_of_and_makes_partial_results() -> None:
    plan = plan_of(IF.replace("or sure(question)", "and sure(question)"))
    assert plan.node("pred.0.and1").fn.ref == "std.op.and"  # type: ignore[union-attr]
    assert [b.source for b in plan.node("pred.0").inputs] == ["pred.0.and1", "pred.0.2"]


def test_an_until_condition_is_computed_each_step_after_the_updates() -> None:
    plan = plan_of(UNTIL)
    assert plan.loops[0].until == "t.until"
    cond = plan.node("t.until@1")
    assert cond.fn.ref == "std.op.or"  # type: ignore[union-attr]
    assert [b.source for b in plan.node("t.until.1@1").inputs] == ["tries@1", "t.until.1.1@1"]
    assert plan.node("draft@2").when == (Guard("t.until@1", ("false",)),)
    assert plan.node("notes.last").inputs[-1].source == "t.until@2"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('kind(question) == "math"', 'kind(question) == "maths"'), ["E0242"]),
        (('kind(question) == "math"', 'kind(question) >= "math"'), ["E0242"]),
        (("level >= 3", "level >= question"), ["E0242"]),
        (("level >= 3", 'level == "3"'), ["E0242"]),
        (("or sure(question)", "or level"), ["E0243"]),
        (("not (kind", "not level and (kind"), ["E0243"]),
        (("level >= 3", "level >= 3.5"), []),
        (('kind(question) == "math"', "kind(question) != kind(question)"), []),
    ],
)
def test_condition_checks(change: tuple[str, str], expected: list[str]) -> None:
    assert codes(IF.replace(*change)) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("until done or tries >= 2", "until tries + 1"), ["E0307"]),
        (("until done or tries >= 2", "until done or missing"), ["E0102"]),
        (("until done or tries >= 2", "until done and tries"), ["E0243"]),
        (("until done or tries >= 2", "until answer == notes"), ["E0306"]),
    ],
)
def test_until_condition_checks(change: tuple[str, str], expected: list[str]) -> None:
    assert codes(UNTIL.replace(*change)) == expected


def test_chained_comparisons_are_a_syntax_error() -> None:
    result = compile_text(IF.replace("level >= 3", "1 < level < 3"))
    (error,) = result.diagnostics
    assert (error.code, error.message) == ("E0001", "comparisons do not chain")
