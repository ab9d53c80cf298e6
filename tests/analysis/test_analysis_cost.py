"""Cost and size estimates on hand-built plans."""

from __future__ import annotations

import math

import pytest
from analysis_plans import PlanBuilder, counting

from adf.analysis.cost import RunSettings, estimate_cost
from adf.analysis.graphview import build_view
from adf.analysis.sizes import BACKWARD_OVERHEAD, FEEDBACK_TOKENS, compute_sizes, measure_rows
from adf.llm.catalogue import Price, estimate_tokens, price
from adf.llm.usage import Usage


def test_token_rule_of_thumb() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_input_sizes_come_from_data_when_given() -> None:
    plan = counting().build()
    rows = [{"question": "x" * 40, "answer": 3}, {"question": "y" * 80, "answer": 12}]
    assert measure_rows(plan.inputs, rows) == {"question": 15}
    sizes = compute_sizes(build_view(plan), rows)
    assert sizes.values["question"] == 15
    assert sizes.measured == {"question", "answer"}
    without = compute_sizes(build_view(plan))
    assert without.values["question"] == 64 and not without.measured


def test_prompt_size_counts_template_params_and_arguments() -> None:
    plan = counting().build()
    sizes = compute_sizes(build_view(plan), [{"question": "q" * 400, "answer": 1}])
    instruction = estimate_tokens("Answer the counting question. Think step by step.")
    answer_format = estimate_tokens("Finish with: Answer: <integer>")
    user = 100 + estimate_tokens("Question: ")
    assert sizes.prompts["reply"] == 2 * 4 + instruction + answer_format + user
    assert sizes.replies["reply"] == 256  # the model's max_tokens
    assert sizes.values["pred"] == 2


def test_forward_and_backward_per_sample() -> None:
    estimate = estimate_cost(counting().build())
    assert estimate.forward.calls == 1
    node = estimate.nodes[0]
    assert node.node_id == "reply" and node.live
    assert estimate.backward.calls == 1
    assert estimate.backward.prompt_tokens == (
        node.forward.prompt_tokens + node.forward.completion_tokens + FEEDBACK_TOKENS + BACKWARD_OVERHEAD
    )
    assert estimate.backward.completion_tokens == FEEDBACK_TOKENS  # one trainable target
    assert estimate.optimizer.calls == 3  # three proposals for `instruction`


def test_loop_calls_and_growing_state() -> None:
    b = counting().loop("hop", 3, ("q", "notes"))
    b.const("notes@0", "[]")
    prev = "notes@0"
    for step in range(3):
        b.llm(f"q@{step}", "next_query", {"question": "question", "notes": prev}, loop="hop", step=step,
              params=("instruction",))
        b.fn(f"notes@{step + 1}", "add", {"left": prev, "right": f"q@{step}"}, ref="std.op.add",
             out="list[str]", loop="hop", step=step, name="notes")
        prev = f"notes@{step + 1}"
    b.output("notes", prev)
    estimate = estimate_cost(b.build())
    assert estimate.forward.calls == 4
    prompts = [n.forward.prompt_tokens for n in estimate.nodes if n.name == "q"]
    assert prompts[0] < prompts[1] < prompts[2]
    assert prompts[2] - prompts[1] == 256  # one more reply in the notes each step


def test_backward_engine_defaults_to_each_nodes_model() -> None:
    b = counting().model("other", "local")
    b.llm("second", "solve2", {"text": "reply"}, params=("instruction",), model="other")
    b.fn("pred2", "last_int2", {"text": "second"}, ref="std.parse.last_int", out="int")
    b.loss("acc2", "pred2", "answer")
    estimate = estimate_cost(b.build())
    backward = {p.model: p.usage.calls for p in estimate.run if p.phase == "backward"}
    assert backward == {"m": 4 * 2, "other": 4 * 2}
    assert dict(estimate.roles)["backward"] == "each node's own model"
    trained = estimate_cost(b.train("other", "other").build())
    assert {p.model for p in trained.run if p.phase in ("backward", "optimizer")} == {"other"}


def test_no_backward_for_frozen_branch() -> None:
    b = (PlanBuilder().model("m").param("p", frozen=True).input("q").target("a")
         .llm("r", "f", {"q": "q"}, params=("p",)).loss("l", "r", "a"))
    estimate = estimate_cost(b.build())
    assert estimate.forward.calls == 1
    assert estimate.backward == Usage()
    assert estimate.optimizer == Usage()
    assert [p.phase for p in estimate.run] == [
        "forward, scoring validation and test", "forward, training minibatches"]


def test_run_totals_follow_settings() -> None:
    settings = RunSettings(steps=2, batch=3, val_size=10, test_size=5, proposals=2,
                           fail_rate=1.0)
    estimate = estimate_cost(counting().build(), settings=settings)
    assert estimate.settings.errors == 2 and estimate.settings.checked == 3
    phases = {p.phase: p.usage.calls for p in estimate.run}
    gated = 2 * 0.5  # two proposals a step, half pass the cheap checks
    assert phases == {
        "forward, scoring validation and test": 10 + 2 * 5,
        "forward, training minibatches": 2 * 3,
        "forward, re-running drawn failures": 2 * 2 * 0.5,
        "forward, checking proposals": 2 * gated * 3,
        "forward, validating proposals": math.ceil(2 * gated * 0.3 * 10 * 0.7),
        "backward": 2 * 2,
        "optimizer": 2 * 2,
    }
    assert estimate.total.requests == estimate.total.calls
    assert estimate.total.calls == sum(p.usage.calls for p in estimate.run)


def demo_plan(capacity: int | None) -> PlanBuilder:
    b = PlanBuilder().model("m", "local", max_tokens=256).param("instruction")
    params: tuple[str, ...] = ("instruction",)
    if capacity is not None:
        b.param("examples", demos=capacity)
        params += ("examples",)
    b.input("question").target("answer", "int")
    b.llm("reply", "solve", {"question": "question"}, params=params)
    return b.fn("pred", "last_int", {"text": "reply"}, ref="std.parse.last_int", out="int").loss(
        "acc", "pred", "answer")


def test_demos_count_at_capacity_and_bootstrap_with_teacher() -> None:
    plain = estimate_cost(demo_plan(None).build())
    with_demos = estimate_cost(demo_plan(3).build())
    assert with_demos.forward.prompt_tokens > plain.forward.prompt_tokens + 3 * 256
    assert "teacher demos" not in {p.phase for p in with_demos.run}  # no teacher declared
    taught = estimate_cost(demo_plan(3).model("t", "local").train("m", "m", "t").build())
    teacher = next(p for p in taught.run if p.phase == "teacher demos")
    assert teacher.usage.calls == 4 * 2 and teacher.model == "t"  # steps x drawn failures


def test_prices_only_when_asked_and_local_is_free() -> None:
    estimate = estimate_cost(counting().build())
    assert estimate.dollars is None and not estimate.priced
    priced = estimate_cost(counting().build(), pricing=True)
    assert priced.dollars == 0.0 and priced.unpriced_models == ()
    assert Price(1e-6, 2e-6).of(1000, 500) == math.fsum([1e-3, 1e-3])


@pytest.mark.slow  # imports litellm for its price table
def test_known_remote_price_and_unknown_model() -> None:
    known = price("openai/gpt-4o-mini")
    assert known is not None and known.prompt > 0
    assert price("nobody/never-heard-of-it") is None
    assert price("local") == price("openai/local") == Price(0.0, 0.0)
    b = counting()
    b.models[0] = b.models[0].__class__("m", "nobody/never-heard-of-it", (), b.models[0].span)
    estimate = estimate_cost(b.build(), pricing=True)
    assert estimate.dollars is None and estimate.unpriced_models == ("m",)
