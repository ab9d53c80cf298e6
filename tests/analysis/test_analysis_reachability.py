"""Gradient reachability on hand-built plans: expected codes, spans and path labels."""

from __future__ import annotations

from analysis_plans import PlanBuilder, counting

from adf.analysis.graphview import build_view
from adf.analysis.reachability import check_reachability, compute_reachability
from adf.diagnostics import Diagnostic


def lint(builder: PlanBuilder) -> list[Diagnostic]:
    view = build_view(builder.build())
    return check_reachability(view, compute_reachability(view), "t.adf")


def test_clean_workflow_has_no_reachability_findings() -> None:
    plan = counting().build()
    view = build_view(plan)
    reach = compute_reachability(view)
    assert check_reachability(view, reach, "t.adf") == []
    assert reach.learning == {"instruction"}
    assert reach.gradient_nodes == {"reply", "pred"}
    assert reach.reached_losses == {"acc"}


def test_param_feeding_only_an_output_never_learns() -> None:
    b = counting().param("style", "Be terse.").input("topic")
    b.llm("summary", "summarize", {"topic": "topic"}, params=("style",))
    b.output("summary")
    found = lint(b)
    assert [d.code for d in found] == ["W0501"]
    diag = found[0]
    assert diag.primary.span.line == b.lines["style"]
    assert "`style`" in diag.message
    label_lines = [label.span.line for label in diag.secondary]
    assert b.lines["summary"] in label_lines
    assert b.lines["output summary"] in label_lines
    assert any("only reaches output `summary`" in label.message for label in diag.secondary)


def test_param_whose_result_is_never_read() -> None:
    b = counting().param("style")
    b.llm("draft", "draft", {"question": "question"}, params=("style",))
    b.fn("clean", "strip", {"text": "draft"})
    found = lint(b)
    assert [d.code for d in found] == ["W0501"]
    messages = [label.message for label in found[0].secondary]
    assert messages[0] == "used in the prompt of `draft`"
    assert messages[-1] == "`clean` is never read after this"


def test_frozen_and_unused_params_are_not_reachability_findings() -> None:
    b = counting().param("unused").param("frozen_one", frozen=True)
    b.llm("side", "side", {"question": "question"}, params=("frozen_one",))
    assert lint(b) == []


def test_param_reaching_a_loss_only_as_its_target_is_blocked() -> None:
    b = counting().param("ref_style")
    b.llm("reference", "make_reference", {"question": "question"}, params=("ref_style",), out="int")
    b.loss("agree", "pred", "reference")
    found = lint(b)
    assert [d.code for d in found] == ["W0503"]
    assert found[0].primary.span.line == b.lines["ref_style"]
    last = found[0].secondary[-1]
    assert last.span.line == b.lines["loss agree"]
    assert "as its target" in last.message


def test_loss_reached_by_no_trainable_param() -> None:
    b = counting().param("other")
    b.llm("side", "side", {"question": "question"}, params=("other",))
    b.output("side")
    b.llm("frozen_reply", "solve2", {"question": "question"}, params=("answer_format",))
    b.fn("frozen_pred", "last_int2", {"text": "frozen_reply"}, ref="std.parse.last_int", out="int")
    b.loss("acc2", "frozen_pred", "answer")
    found = lint(b)
    codes = sorted(d.code for d in found)
    assert codes == ["W0501", "W0502"]
    w0502 = next(d for d in found if d.code == "W0502")
    assert w0502.primary.span.line == b.lines["loss acc2"]
    messages = [label.message for label in w0502.secondary]
    assert messages[0] == "`frozen_pred` is computed by `last_int2`"
    assert "which uses only frozen parameters" in messages[1]
    assert "`instruction`" in w0502.notes[0]


def test_program_without_trainable_params_warns_per_loss() -> None:
    b = (PlanBuilder().model("m").param("p", frozen=True).input("q").target("a")
         .llm("r", "f", {"q": "q"}, params=("p",)).loss("l1", "r", "a").loss("l2", "r", "a"))
    found = lint(b)
    assert [d.code for d in found] == ["W0502", "W0502"]
    assert "no trainable parameter" in found[0].notes[0]


def test_loss_on_raw_data_explains_it() -> None:
    b = counting().loss("trivial", "question", "answer")
    found = lint(b)
    assert [d.code for d in found] == ["W0502"]
    assert "read from the data" in found[0].notes[0]


def test_loop_copies_share_one_label() -> None:
    b = counting().param("hop_prompt").loop("hop", 3, ("q",))
    previous = "question"
    for step in range(3):
        b.llm(f"q@{step}", "next_query", {"question": previous}, params=("hop_prompt",),
              loop="hop", step=step)
        previous = f"q@{step}"
    found = lint(b)
    assert [d.code for d in found] == ["W0501"]
    spans = [label.span for label in found[0].secondary]
    assert len(spans) == len(set(spans))


def test_long_paths_are_cut_short_honestly() -> None:
    b = counting().param("style")
    b.llm("s0", "draft", {"question": "question"}, params=("style",))
    for i in range(1, 10):
        b.fn(f"s{i}", "strip", {"text": f"s{i - 1}"}, name=f"s{i}")
    found = lint(b)
    assert [d.code for d in found] == ["W0501"]
    assert len(found[0].secondary) <= 7
    assert found[0].secondary[-1].message == "`s5` flows on, but into no loss"
