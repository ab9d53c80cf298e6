"""Loops with a named-constant bound and an `until` early exit."""

from __future__ import annotations

import pytest

from adf.plan import decode_plan, encode_plan
from adf.plan.schema import Guard

from .conftest import codes, plan_of

BASE = """model m = "local"
param hop_prompt: prompt = "Find the next query."
input question: str
target answer: str
const max_hops = 3
llm next(question: str, notes: str) -> str using m { system: [hop_prompt] user: "{question} {notes}" }
llm enough(question: str, notes: str) -> bool using m { user: "{question} {notes}" }
llm label(question: str) -> enum{a, b} using m { user: "{question}" }
state notes: str = ""
"""
LOOP = BASE + """loop hop in 0..max_hops until done {
  node q = next(question, notes)
  notes = notes + q
  node done = enough(question, notes)
}
node pred = next(question, notes)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""



def test_steps_after_the_first_are_guarded_by_the_previous_condition() -> None:
    plan = plan_of(LOOP)
    (loop,) = plan.loops
    assert (loop.bound, loop.until) == (3, "done")
    assert plan.node("q@0").when == ()
    assert plan.node("q@1").when == (Guard("done@0", ("false",)),)
    assert plan.node("notes@2").when == (Guard("done@1", ("false",)),)
    last = plan.node("notes.last")
    assert last.kind == "last" and [(b.name, b.source) for b in last.inputs] == [
        ("step0", "notes@0"), ("step1", "notes@1"), ("step2", "notes@2"),
        ("until0", "done@0"), ("until1", "done@1"), ("until2", "done@2")]
    assert [b.source for b in plan.node("pred").inputs] == ["question", "notes.last"]
    assert decode_plan(encode_plan(plan)) == plan


def test_a_constant_bound_is_the_same_as_its_literal() -> None:
    named = plan_of(LOOP.replace(" until done", "").replace("  node done = enough(question, notes)\n", ""))
    literal = plan_of(LOOP.replace("0..max_hops", "0..3").replace(" until done", "")
                      .replace("  node done = enough(question, notes)\n", ""))
    assert named.nodes == literal.nodes and named.loops == literal.loops


def test_loops_without_until_make_no_last_nodes() -> None:
    plan = plan_of(LOOP.replace(" until done", ""))
    assert not [n for n in plan.nodes if n.kind == "last" or n.when]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("0..max_hops", "0..max_hop"), ["E0102"]),
        (("until done", "until missing"), ["E0307"]),
        (("until done", "until pred"), ["E0307"]),  # a node, but not of the loop's body
        (("node done = enough(question, notes)", "node done = label(question)"), ["E0307"]),
        (("const max_hops = 3", "const max_hops = 0"), ["E0303"]),
        (("node pred = next(question, notes)", "node pred = next(question, max_hops)"), ["E0104"]),
    ],
)
def test_until_and_constant_checks(change: tuple[str, str], expected: list[str]) -> None:
    assert codes(LOOP.replace(*change)) == expected
