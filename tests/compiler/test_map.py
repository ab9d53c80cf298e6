"""Per-item work: `map item in list max N => expr`."""

from __future__ import annotations

import msgpack
import pytest

from adf.plan import PlanError, decode_plan, encode_plan
from adf.plan.schema import Guard

from .conftest import codes, plan_of

BASE = """model m = "local"
param summary_prompt: prompt = "Summarise the passage."
input question: str
input passages: list[str]
target answer: str
const most = 3
llm summarize(question: str, passage: str) -> str using m { system: [summary_prompt] user: "{question} {passage}" }
llm answer_from(question: str, notes: list[str]) -> str using m { user: "{question} {notes}" }
llm rate(passage: str) -> int using m { user: "{passage}" }
"""
MAP = BASE + """node notes = map p in passages max most => summarize(question, p)
node pred = answer_from(question, notes)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""



def test_each_item_is_an_item_node_and_a_guarded_copy_of_the_body() -> None:
    plan = plan_of(MAP)
    assert [n.id for n in plan.nodes] == [
        "notes#0.item", "notes#0", "notes#1.item", "notes#1", "notes#2.item", "notes#2",
        "notes", "pred"]
    item = plan.node("notes#1.item")
    assert (item.kind, item.item, [b.source for b in item.inputs]) == ("item", 1, ["passages"])
    assert str(item.output_type) == "str" and item.when == ()
    body = plan.node("notes#1")
    assert body.when == (Guard("notes#1.item", ()),) and body.item == 1
    assert [b.source for b in body.inputs] == ["question", "notes#1.item"]
    collect = plan.node("notes")
    assert collect.kind == "map" and str(collect.output_type) == "list[str]"
    assert [(b.name, b.source) for b in collect.inputs] == [
        ("items", "passages"), ("item0", "notes#0"), ("item1", "notes#1"), ("item2", "notes#2")]
    assert decode_plan(encode_plan(plan)) == plan


def test_the_result_type_is_a_list_of_the_body_type() -> None:
    plan = plan_of(MAP.replace("summarize(question, p)", "rate(p)")
                   .replace("notes: list[str]", "notes: list[int]"))
    assert str(plan.node("notes").output_type) == "list[int]"


def test_inside_a_loop_items_carry_the_step_and_shared_values_no_item_guard() -> None:
    plan = plan_of(BASE + """state seen: str = ""
loop hop in 0..2 {
  node notes = map p in passages max 2 => summarize(seen + hop, p)
  seen = seen + answer_from(question, notes)
}
output seen
""".replace("seen + hop", "seen"))
    assert plan.node("notes#1.item@1").when == ()
    assert plan.node("notes#1@1").when == (Guard("notes#1.item@1", ()),)
    assert plan.node("notes@1").step == 1


def test_a_constant_bound_is_the_same_as_its_literal() -> None:
    named, literal = plan_of(MAP), plan_of(MAP.replace("max most", "max 3   "))  # same columns
    assert named.nodes == literal.nodes


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("map p in passages", "map p in question"), ["E0240"]),
        (("const most = 3", "const most = 0"), ["E0241"]),
        (("max most", "max 1001"), ["E0241"]),
        (("max most", "max mots"), ["E0102"]),
        (("max most", "max question"), ["E0102"]),
        (("node pred = answer_from(question, notes)", "node pred = answer_from(p, notes)"),
         ["E0102"]),
        (("summarize(question, p)", "summarize(question, q)"), ["E0102"]),
        (("summarize(question, p)", "rate(p)"), ["E0201"]),
        (("map p in passages max most => summarize(question, p)",
          "map question in passages max most => summarize(question, question)"), ["E0101"]),
    ],
)
def test_map_checks(change: tuple[str, str], expected: list[str]) -> None:
    assert codes(MAP.replace(*change)) == expected


def test_a_format_2_plan_is_refused_with_a_recompile_hint() -> None:
    raw = msgpack.unpackb(encode_plan(plan_of(MAP)), raw=False)
    raw["format_version"] = 2
    with pytest.raises(PlanError, match="old format version 2; recompile it with `adfc compile`"):
        decode_plan(msgpack.packb(raw, use_bin_type=True))
