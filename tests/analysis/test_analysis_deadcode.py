"""Dead and unused code on hand-built plans: expected codes and spans."""

from __future__ import annotations

from analysis_plans import PlanBuilder, counting

from adf.analysis.deadcode import check_dead_code
from adf.analysis.graphview import build_view
from adf.diagnostics import Diagnostic, Span
from adf.records import replace


def lint(builder: PlanBuilder) -> list[Diagnostic]:
    return check_dead_code(build_view(builder.build()), "t.adf")


def codes_at(found: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(d.code, d.primary.span.line) for d in found]


def test_clean_workflow() -> None:
    assert lint(counting()) == []


def test_dead_node_chain_reports_each_named_node() -> None:
    b = counting()
    b.llm("draft", "draft", {"question": "question"}, params=("instruction",))
    b.fn("clean", "strip", {"text": "draft"})
    found = lint(b)
    assert codes_at(found) == [("W0504", b.lines["draft"]), ("W0504", b.lines["clean"])]
    assert found[0].secondary[0].message == "read only by `clean`, which is itself unused"
    assert found[0].notes  # an llm node: the note about wasted calls
    assert not found[1].notes


def test_nested_call_in_dead_expression_is_not_reported_twice() -> None:
    b = counting()
    b.fn("total.0", "strip", {"text": "question"}, name="total.0")
    b.fn("total", "join", {"items": "total.0"})
    inner, outer = b.nodes[-2], b.nodes[-1]
    b.nodes[-2] = replace(inner, span=Span(outer.span.line, 5, outer.span.line, 8))
    found = lint(b)
    assert [d.code for d in found] == ["W0504"]
    assert found[0].primary.span == outer.span


def test_partly_dead_loop_names_its_steps() -> None:
    b = counting().loop("hop", 3, ("q",))
    prev = "question"
    for step in range(3):
        b.llm(f"q@{step}", "next_query", {"question": prev}, loop="hop", step=step)
        prev = f"q@{step}"
    b.output("last", "q@1")
    found = lint(b)
    assert [d.code for d in found] == ["W0504"]
    assert found[0].message == "`q` is computed but never used at time step 2 of loop `hop`"


def test_wholly_dead_loop_node_reported_once() -> None:
    b = counting().loop("hop", 2, ("q",))
    for step in range(2):
        b.llm(f"q@{step}", "next_query", {"question": "question"}, loop="hop", step=step)
    found = lint(b)
    assert [d.message for d in found] == ["`q` is computed but never used"]


def test_unused_declarations() -> None:
    b = (counting().model("spare").param("unused_prompt").input("extra").target("label")
         .fn_decl("never").llm_decl("also_never"))
    found = lint(b)
    assert codes_at(found) == [
        ("W0505", b.lines["extra"]),
        ("W0506", b.lines["label"]),
        ("W0507", b.lines["unused_prompt"]),
        ("W0508", b.lines["spare"]),
        ("W0509", b.lines["fn never"]),
        ("W0509", b.lines["llm also_never"]),
    ]
    assert found[4].message == "fn `never` is never called"


def test_training_roles_use_a_model() -> None:
    b = counting().model("teacher").train("teacher", "teacher")
    assert lint(b) == []
