"""Loop size, per-sample budget and context-window checks on hand-built plans."""

from __future__ import annotations

from analysis_plans import PlanBuilder, counting

from adf.analysis.config import LoopLimits
from adf.analysis.context import check_context
from adf.analysis.graphview import build_view
from adf.analysis.loopsize import check_loop_sizes
from adf.analysis.reachability import compute_reachability
from adf.analysis.sizes import compute_sizes
from adf.diagnostics import Diagnostic


def sizes_lint(b: PlanBuilder, limits: LoopLimits) -> list[Diagnostic]:
    view = build_view(b.build())
    return check_loop_sizes(view, compute_sizes(view), limits, "t.adf")


def context_lint(b: PlanBuilder) -> list[Diagnostic]:
    view = build_view(b.build())
    return check_context(view, compute_sizes(view), compute_reachability(view), "t.adf")


def loop_workflow(steps: int, model_options: dict[str, int]) -> PlanBuilder:
    """A loop whose notes grow by one reply per step, read by the next step's llm."""
    b = PlanBuilder().model("m", "local", **model_options).model("big", "openai/gpt-4o", context=128000)
    b.train("big", "big")
    b.param("instruction").input("question").target("answer")
    b.loop("hop", steps, ("q", "notes"))
    b.const("notes@0", "[]")
    prev = "notes@0"
    for step in range(steps):
        b.llm(f"q@{step}", "next_query", {"question": "question", "notes": prev}, loop="hop",
              step=step, params=("instruction",))
        b.fn(f"notes@{step + 1}", "add", {"left": prev, "right": f"q@{step}"}, ref="std.op.add",
             out="list[str]", loop="hop", step=step, name="notes")
        prev = f"notes@{step + 1}"
    b.fn("summary", "join", {"items": prev}, ref="std.text.join")
    return b.loss("acc", "summary", "answer")


def test_small_loop_is_fine() -> None:
    assert sizes_lint(loop_workflow(3, {}), LoopLimits()) == []


def test_unrolled_size_limit() -> None:
    b = loop_workflow(4, {})
    found = sizes_lint(b, LoopLimits(max_unrolled_nodes=6))
    assert [(d.code, d.primary.span.line) for d in found] == [("W0511", b.lines["loop hop"])]
    assert found[0].message == "loop `hop` unrolls to 8 nodes, more than the limit of 6"
    assert found[0].primary.message == "4 steps × 2 nodes"


def test_calls_per_sample_limit_blames_the_loop() -> None:
    b = loop_workflow(4, {})
    found = sizes_lint(b, LoopLimits(max_calls_per_sample=3))
    assert [d.code for d in found] == ["W0512"]
    assert found[0].message == "each sample makes 4 model calls, more than the limit of 3"
    assert found[0].primary.message == "4 calls: 4 steps × 1 per step"


def test_tokens_per_sample_limit() -> None:
    found = sizes_lint(loop_workflow(4, {}), LoopLimits(max_tokens_per_sample=100))
    assert [d.code for d in found] == ["W0512"]
    assert "tokens" in found[0].message


def test_no_budget_warning_without_loops() -> None:
    assert sizes_lint(counting(), LoopLimits(max_calls_per_sample=0)) == []


def test_prompt_larger_than_context() -> None:
    b = counting()
    b.models[0] = b.models[0].__class__("m", "local", (("max_tokens", 600), ("context", 512)),
                                        b.models[0].span)
    b.model("big", "openai/gpt-4o", context=128000).train("big", "big")
    found = context_lint(b)
    assert [(d.code, d.primary.span.line) for d in found] == [("W0601", b.lines["reply"])]
    assert "512-token context of model `m`" in found[0].message
    assert found[0].secondary[0].span.line == b.lines["m"]


def test_local_model_defaults_to_2048() -> None:
    b = counting()
    b.models[0] = b.models[0].__class__("m", "local", (("max_tokens", 3000),), b.models[0].span)
    assert "W0601" in [d.code for d in context_lint(b)]


def test_unknown_window_is_not_checked() -> None:
    b = counting()
    b.models[0] = b.models[0].__class__("m", "openai/gpt-4o", (("max_tokens", 100000),), b.models[0].span)
    assert context_lint(b) == []


def test_loop_outgrows_context_at_a_later_step() -> None:
    b = loop_workflow(8, {"max_tokens": 200, "context": 1000})
    found = context_lint(b)
    assert [(d.code, d.primary.span.line) for d in found] == [("W0603", b.lines["q"])]
    assert found[0].message.endswith("at time step 4")
    assert found[0].secondary[0].span.line == b.lines["loop hop"]


def test_backward_and_optimizer_prompts_need_the_roles_context() -> None:
    b = counting().model("critic", "local", context=500).train("critic", "critic")
    b.params[0] = b.params[0].__class__(
        "instruction", "prompt", "word " * 200, (), False, "", None, b.params[0].span, None)
    found = context_lint(b)
    assert [(d.code, d.primary.span.line) for d in found] == [
        ("W0602", b.lines["reply"]), ("W0602", b.lines["instruction"])]
    assert "backward model `critic`" in found[0].message
    assert "optimizer model `critic`" in found[1].message
