"""Routing: `if c then a else b` and `match x { A => a, _ => b }` through the compiler."""

from __future__ import annotations

import pytest

from adf.plan import decode_plan, encode_plan
from adf.plan.schema import Guard, Type

from .conftest import codes, compile_text
from .conftest import error_free_plan as plan_of

BASE = """model m = "local"
param route: prompt = "Route."
input q: str
llm kind(q: str) -> enum{math, code, other} using m { system: [route] user: "{q}" }
llm easy(q: str) -> bool using m { user: "{q}" }
llm solve(q: str) -> str using m { user: "{q}" }
llm write(q: str) -> str using m { user: "{q}" }
llm count(q: str) -> int using m { user: "{q}" }
fn strip(text: str) -> str = std.parse.strip
"""



def test_match_guards_each_arm_and_selects() -> None:
    plan = plan_of(BASE + """node k = kind(q)
node pred = match k { math => strip(solve(q)), code => write(q), _ => q }
output pred
""")
    select = plan.node("pred")
    assert select.kind == "select" and select.output_type == Type("str")
    assert [(b.name, b.source) for b in select.inputs] == [
        ("cond", "k"), ("case:math", "pred.1"), ("case:code", "pred.2"), ("case:_", "q")]
    assert plan.node("pred.1").when == (Guard("k", ("math",)),)
    assert plan.node("pred.1.0").when == (Guard("k", ("math",)),)  # nested calls are guarded too
    assert plan.node("pred.2").when == (Guard("k", ("code",)),)
    assert plan.node("k").when == ()
    assert decode_plan(encode_plan(plan)) == plan


def test_if_and_nested_guards() -> None:
    plan = plan_of(BASE + """node pred = if easy(q) then (if easy(solve(q)) then solve(q) else write(q)) else write(q)
output pred
""")
    outer = Guard("pred.0", ("true",))
    assert plan.node("pred.1.0").when == (outer,)  # the inner condition runs only in the outer branch
    assert plan.node("pred.1.1").when == (outer, Guard("pred.1.0", ("true",)))
    assert plan.node("pred.2").when == (Guard("pred.0", ("false",)),)


def test_branch_types_join() -> None:
    plan = plan_of(BASE + """llm a(q: str) -> enum{x, y} using m { user: "{q}" }
llm b(q: str) -> enum{y, z} using m { user: "{q}" }
node e = if easy(q) then a(q) else b(q)
node f = if easy(q) then count(q) else 2.5
output e
output f
""")
    assert plan.node("e").output_type == Type("enum", values=("x", "y", "z"))
    assert plan.node("f").output_type == Type("float")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("if q then solve(q) else q", ["E0233"]),
        ("if easy(q) then solve(q) else count(q)", ["E0232"]),
        ("match q { math => q }", ["E0233"]),
        ("match kind(q) { math => solve(q), code => write(q) }", ["E0234"]),
        ("match kind(q) { math => q, code => q, other => q, _ => q }", ["E0234"]),
        ("match kind(q) { math => q, maths => q, _ => q }", ["E0234"]),
        ("match kind(q) { math => q, math => q, _ => q }", ["E0234"]),
        ("match easy(q) { true => solve(q), false => q }", []),
        ("match kind(q) { math => solve(q), _ => write(q) }", []),
    ],
)
def test_routing_checks(expr: str, expected: list[str]) -> None:
    assert codes(BASE + f"node pred = {expr}\noutput pred\n") == expected


def test_missing_labels_are_named() -> None:
    result = compile_text(BASE + "node pred = match kind(q) { math => q }\noutput pred\n")
    (d,) = result.diagnostics
    assert d.message == "`match` does not cover `code`, `other`"


def test_targets_cannot_steer_a_branch() -> None:
    text = BASE + "target t: bool\nnode pred = if t then q else solve(q)\noutput pred\n"
    assert codes(text) == ["E0306"]
