"""Cost and size estimates on hand-built plans."""

from __future__ import annotations

import math

import attrs
import pytest
from analysis_plans import PlanBuilder, counting

from adf.analysis import costflow
from adf.analysis.cost import Scenario, estimate_cost
from adf.analysis.costhistory import History, Rates
from adf.analysis.graphview import build_view
from adf.analysis.rolesizes import overheads
from adf.analysis.sizes import FEEDBACK_TOKENS, compute_sizes, measure_rows
from adf.llm.cache import TokenMeans
from adf.llm.catalogue import Price, estimate_tokens, price
from adf.llm.usage import Usage
from adf.optim.observed import Count, Observed, counts, observe
from adf.optim.records import ProposalRecord, StepRecord
from adf.plan.settings import TrainSettings
from adf.records import replace


def scenario(*, val_size: int = 50, test_size: int = 0, fail_rate: float = 0.5,
             **train: object) -> Scenario:
    """A forecast's run: these training settings, split sizes and failure rate."""
    return Scenario(TrainSettings(**train), val_size, test_size,  # type: ignore[arg-type]
                    Rates(fail_rate=fail_rate))


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
    fixed = overheads()  # measured from the review's templates
    instruction = estimate_tokens(counting().build().params[0].value)
    assert estimate.backward.prompt_tokens == (
        node.forward.prompt_tokens + node.forward.completion_tokens + FEEDBACK_TOKENS
        + fixed.backward + fixed.target + instruction
    )
    assert 100 < fixed.backward < 400 and fixed.target > 20
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
    # one more reply in the notes each step: free text no loss scores, at the bound (no
    # max_tokens: the default for `str`)
    assert prompts[2] - prompts[1] == 256


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
    settings = scenario(steps=2, batch_size=3, val_size=10, test_size=5, proposals=2,
                        fail_rate=1.0)
    estimate = estimate_cost(counting().build(), settings=settings)
    # every sample fails: two failures drawn, no passing sample to draw with them
    assert estimate.settings.errors == 2 and estimate.settings.checked == 2
    assert attrs.evolve(settings, rates=Rates(fail_rate=0.5)).checked == 2 + 1
    phases = {p.phase: p.usage.calls for p in estimate.run}
    gated = 2 * 0.5  # two proposals a step, half pass the cheap checks
    assert phases == {
        "forward, scoring validation and test": 10 + 2 * 5,
        "forward, training minibatches": 2 * 3,
        # half the drawn failures of the second step came from the first
        "forward, re-running drawn failures": 2 * 0.5,
        "forward, checking proposals": 2 * gated * 2,
        # a candidate cannot lose on a minibatch of failures (it ties at worst), and against
        # a validation score of 0 the gate never stops early: all of it, every time
        "forward, validating proposals": 2 * gated * 10,
        "backward": 2 * 2,
        "optimizer": 2 * 2,
    }
    assert estimate.total.requests == estimate.total.calls
    assert estimate.total.calls == sum(p.usage.calls for p in estimate.run)


def test_no_prompt_proposals_means_no_backward_and_no_optimizer_calls() -> None:
    # `--proposals 0` trains only the demo sets: the step asks no feedback (it counts
    # backward_skipped), so the forecast has no backward and no optimizer phase
    settings = scenario(steps=2, batch_size=3, val_size=10, proposals=0, demo_proposals=1)
    phases = {p.phase: p.usage.calls
              for p in estimate_cost(demo_plan(4).build(), settings=settings).run}
    assert "backward" not in phases and "optimizer" not in phases
    assert phases["forward, re-running drawn failures"] > 0  # failures are still re-run
    with_prompts = {p.phase for p in estimate_cost(
        demo_plan(4).build(), settings=scenario(steps=2, batch_size=3, val_size=10)).run}
    assert {"backward", "optimizer"} <= with_prompts
    # proposals allowed but only a demo set learns (the instruction frozen): no feedback either
    frozen = demo_plan(4)
    frozen.params = [replace(p, frozen=True) if p.name == "instruction" else p
                     for p in frozen.params]
    only_demos = estimate_cost(frozen.build(), settings=scenario(steps=2, batch_size=3))
    assert "backward" not in {p.phase for p in only_demos.run}
    assert only_demos.backward.calls == 0


def test_fill_batches_strict_gate_and_joint_gate_change_the_forecast() -> None:
    def phases(plan: PlanBuilder, **changes: object) -> dict[str, int]:
        settings = scenario(**{"steps": 4, "batch_size": 2, "val_size": 20, **changes})
        return {p.phase: p.usage.calls for p in estimate_cost(plan.build(), settings=settings).run}

    base = phases(counting())
    extra = "forward, extra batches while none failed"
    assert base[extra] == math.ceil(4 * 2 * 0.25)  # one extra batch when both samples pass
    assert phases(counting(), fill_batches=2)[extra] == math.ceil(4 * 2 * (0.25 + 0.0625))
    assert extra not in phases(counting(), fill_batches=0)
    validating = "forward, validating proposals"
    # one failure and one pass drawn: a candidate right on each half the time does not lose
    # with one or two right (3/4; ties go on), and gains only with two (1/4, --minibatch-strict)
    share = costflow.val_share(20, 8, 0.5, ties=False)
    assert 0.5 < share < 1.0  # a run may stop after the first chunk of 8
    wins = costflow.val_wins(20, 0.5, ties=False)  # ends above 10 of 20
    assert 0.3 < wins < 0.5

    def gated(to_validation: float) -> float:
        """Three proposals a step, half pass the cheap checks; an accepted one ends them."""
        hit = 0.5 * to_validation * wins
        return 0.5 * sum((1 - hit) ** k for k in range(3))

    assert base[validating] == math.ceil(4 * gated(0.75) * 0.75 * 20 * share)
    strict = phases(counting(), minibatch_strict=True)
    assert strict[validating] == math.ceil(4 * gated(0.25) * 0.25 * 20 * share)
    two = (PlanBuilder().model("m", "local", max_tokens=256).param("instruction")
           .param("style", "Be brief.").input("question").target("answer")
           .llm("reply", "solve", {"question": "question"}, params=("instruction", "style"),
                user="Question: {question}").loss("acc", "reply", "answer"))
    alone = phases(two, strategy="sequential")
    checking = "forward, checking proposals"
    # one failure and one pass drawn a step; two prompts, three proposals each, half screened
    assert alone[checking] == math.ceil(4 * 2 * gated(0.75) * 2)
    # the joint gate: first, when both prompts have a usable first proposal (each has one
    # within its three attempts with 1 - 0.5^3); accepted, it ends the step's proposals
    won = 0.875 ** 2 * 0.75 * wins
    assert phases(two)[checking] == math.ceil(4 * (0.875 ** 2 + (1 - won) * 2 * gated(0.75)) * 2)
    assert phases(counting(), strategy="sequential") == base  # one prompt: nothing to gate jointly


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


def test_demos_count_at_capacity_in_the_range_and_bootstrap_with_teacher() -> None:
    plain = estimate_cost(demo_plan(None).build())
    with_demos = estimate_cost(demo_plan(3).build())
    # the point fills the demo set part of the way (`costflow.demo_fill`); the range's top
    # counts it at capacity, three demos of a question and a reply at max_tokens
    full = compute_sizes(build_view(demo_plan(3).build())).prompts["reply"]
    bare = compute_sizes(build_view(demo_plan(None).build())).prompts["reply"]
    assert full > bare + 3 * 256
    assert plain.forward.prompt_tokens < with_demos.forward.prompt_tokens < full
    assert with_demos.tokens_high > plain.tokens_high + 3 * 256
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


def test_history_sizes_the_calls_it_has_seen() -> None:
    plan = counting().build()
    cold = estimate_cost(plan)
    seen = {("local", "reply", "forward"): TokenMeans(10, 120.0, 6.0)}
    warm = estimate_cost(plan, history=History(seen, {"m": "local"}))
    node = next(n for n in warm.nodes if n.node_id == "reply")
    assert (node.forward.prompt_tokens, node.forward.completion_tokens) == (120, 6)
    assert warm.total.calls == cold.total.calls  # history sizes calls, it does not count them
    assert warm.total.tokens < cold.total.tokens
    assert any("kinds of call" in a for a in warm.assumptions)
    assert not any("kinds of call" in a for a in cold.assumptions)
    other = estimate_cost(plan, history=History(seen, {"m": "openai/other"}))
    assert other.total == cold.total  # another model's history is not this one's


def test_a_resumed_runs_rates_replace_the_priors() -> None:
    plan = counting().build()
    prior = scenario(steps=2, val_size=10)
    measured = attrs.evolve(prior, rates=Rates(pass_minibatch=0.5, val_share=0.5,
                                               win_share=0.0))
    assert measured.rates.calibrated and not prior.rates.calibrated
    phases = {p.phase: p.usage.calls for p in estimate_cost(plan, settings=measured).run}
    # no validated proposal won: every step makes all three attempts
    assert phases["forward, validating proposals"] == math.ceil(2 * (3 * 0.5) * 0.5 * 10 * 0.5)
    # every one wins: a screened proposal that reaches validation ends the step's attempts
    winning = attrs.evolve(measured, rates=attrs.evolve(measured.rates, win_share=1.0))
    phases = {p.phase: p.usage.calls for p in estimate_cost(plan, settings=winning).run}
    gates = 0.5 * (1 + 0.75 + 0.75 ** 2)  # each attempt is accepted with 0.5 x 0.5
    assert phases["forward, validating proposals"] == math.ceil(2 * gates * 0.5 * 10 * 0.5)
    assert estimate_cost(plan, settings=winning).optimizer.calls == math.ceil(gates / 0.5)
    assert any("calibrated" in a for a in estimate_cost(plan, settings=measured).assumptions)


def test_observed_rates_come_from_the_step_records() -> None:
    def proposal(kind: str, evaluated: bool, val: int | None) -> ProposalRecord:
        return ProposalRecord("p", kind, 1, "", evaluated=evaluated,  # type: ignore[arg-type]
                              val_evaluated=val)

    won = attrs.evolve(proposal("prompt", True, 8), verdict="accepted")
    records = [
        StepRecord(1, proposals=[won, proposal("prompt", False, None),
                                 proposal("demos", True, 0)], batch=["a", "b", "c", "d"],
                   errors=3, accepted=1),
        StepRecord(2, proposals=[proposal("prompt", True, 12)], batch=["e", "f", "g", "h"],
                   errors=1),
    ]
    joint = [attrs.evolve(proposal("prompt", True, 0), param=name, joint=["p", "q"])
             for name in ("p", "q")]  # one gate of two parameters, lost on the minibatch
    records.append(StepRecord(3, proposals=joint, batch=[], errors=0))
    seen = observe(records, val_size=12)
    assert seen.steps == 3 and seen.fail_rate == Count(4, 8)
    assert seen.screen_pass == Count(2, 3)  # prompt proposals that were evaluated
    assert seen.pass_minibatch == Count(2, 4)  # gates that let a proposal on to validation
    assert seen.val_share == Count(8 + 12, 2 * 12)
    assert seen.win_share == Count(1, 2)  # of the two scored on validation, one won
    assert seen.fail_after == Count(1, 4)  # the steps after step 1's acceptance
    history = History(rates=counts(seen))
    rates = history.calibrate(Rates())
    # before any acceptance 3 of 4 failed, after it 1 of 4
    assert (rates.fail_rate, rates.fail_after, rates.win_share) == (0.75, 0.25, 0.5)
    empty = observe([], 12)
    assert empty == Observed() and empty.val_share.share is None  # no evidence: priors stay


def test_history_says_how_often_each_prompt_was_optimized() -> None:
    seen = {("opt", "optimizer:a", "optimizer"): TokenMeans(6, 900.0, 60.0),
            ("opt", "optimizer:b", "optimizer"): TokenMeans(2, 900.0, 60.0)}
    history = History(seen, {"o": "opt"})
    # `b` got feedback a third as often as `a`; `c` was never seen: every step
    assert history.optimized("o", ["a", "b", "c"]) == {"a": 1.0, "b": 1 / 3}
    assert history.optimized(None, ["a"]) == {} and History().optimized("o", ["a"]) == {}


def test_typed_replies_count_at_their_type_and_free_text_at_a_range() -> None:
    typed = (PlanBuilder().model("m", "local", max_tokens=256).param("p", "Classify.")
             .input("q").target("a", "enum{yes, no}")
             .llm("r", "f", {"q": "q"}, params=("p",), out="enum{yes, no}").loss("l", "r", "a"))
    # no validation split and one proposal a step: the gate's outcome moves no call, and the
    # range is the reply lengths alone
    estimate = estimate_cost(typed.build(), settings=scenario(val_size=0, proposals=1))
    reply = estimate.nodes[0].forward.completion_tokens
    assert reply < 16  # the label and its JSON, not max_tokens
    # its forward replies are typed: only the feedback and reasoning may be one line instead
    assert estimate.total.tokens / 2 < estimate.tokens_low < estimate.total.tokens
    free = estimate_cost(counting().build(), settings=scenario(val_size=0, proposals=1))
    # free text no loss scores as it is: at max_tokens (256), how much a model writes there
    # being in neither the program nor the data
    assert free.nodes[0].forward.completion_tokens == 256
    assert 0 < free.tokens_low < free.total.tokens < free.tokens_high
    assert free.summary_json()["tokens_low"] == free.tokens_low
    # one proposal a step, nothing to validate: the low end is the point; at the high end
    # every proposal passes the cheap checks, so more are checked on the minibatch
    assert estimate.calls_low == estimate.total.calls < estimate.calls_high
    # with validation, the range spans the gate's outcome too, around the point
    gated = estimate_cost(typed.build())
    assert gated.calls_low < gated.total.calls < gated.calls_high
    assert gated.tokens_low < gated.total.tokens < gated.tokens_high
    assert gated.summary_json()["calls_high"] == gated.calls_high


def test_free_text_inside_a_typed_reply_is_part_of_the_range() -> None:
    from adf.analysis.sizes import SHORT_REPLY, type_tokens
    from adf.plan.schema import Type

    call = Type("record", fields=(("tool", Type("str")), ("done", Type("bool"))))
    assert type_tokens(call) > type_tokens(call, SHORT_REPLY)
    assert type_tokens(call, SHORT_REPLY) == estimate_tokens("tool") + 1 + SHORT_REPLY + (
        estimate_tokens("done") + 1 + type_tokens(Type("bool")))


def test_a_reply_the_loss_scores_is_expected_as_long_as_its_target() -> None:
    from adf.analysis.sizes import scored_replies

    answer = "The sorted words are: apple banana cherry"  # 11 tokens

    def plan(ref: str) -> PlanBuilder:
        return (PlanBuilder().model("m", "local", max_tokens=256).param("p", "Sort the words.")
                .input("q").target("a", "str")
                .llm("reply", "f", {"q": "q"}, params=("p",))
                .fn("pred", "clean", {"text": "reply"}, ref=ref, out="str").loss("l", "pred", "a"))
    rows = [{"q": "cherry apple banana", "a": answer}]
    first_line = build_view(plan("std.parse.first_line").build())
    assert scored_replies(first_line.plan) == {"reply": "a"}
    assert compute_sizes(first_line, rows, reply="expected").replies["reply"] == \
        estimate_tokens(answer)
    # the bound and the shortest reply stay what they were
    assert compute_sizes(first_line, rows).replies["reply"] == 256
    assert compute_sizes(first_line, rows, reply="short").replies["reply"] == 8
    # a reply parsed for its last number (reasoning) holds more than the answer: at the bound
    last = build_view(plan("std.parse.last_int").build())
    assert scored_replies(last.plan) == {}
    assert compute_sizes(last, rows, reply="expected").replies["reply"] == 256
    # the forecast sizes the scored reply by the target and keeps the bound at the range's top
    estimate = estimate_cost(first_line.plan, data_rows=rows)
    assert estimate.nodes[0].forward.completion_tokens == estimate_tokens(answer)
    assert estimate.tokens_high > estimate.total.tokens * 2


def test_observed_demo_fill_counts_the_samples_run_with_a_full_demo_set() -> None:
    def proposal(kind: str, verdict: str, val: int) -> ProposalRecord:
        return ProposalRecord("p", kind, 1, "", evaluated=True, val_evaluated=val,  # type: ignore[arg-type]
                              verdict=verdict)  # type: ignore[arg-type]

    drawn = {"drawn_errors": ["a", "b"], "drawn_passed": ["c"]}  # each gate checks 3 samples
    records = [
        # step 1: a prompt gate (3 + 12) and an accepted demo set (3 + 12): the latter is full
        StepRecord(1, proposals=[proposal("prompt", "rejected", 12),
                                 proposal("demos", "accepted", 12)],
                   batch=["a", "b", "c", "d"], **drawn),  # type: ignore[arg-type]
        # step 2: the set accepted in step 1 is in place for all of it
        StepRecord(2, proposals=[proposal("prompt", "rejected", 0)],
                   batch=["e", "f", "g", "h"], **drawn),  # type: ignore[arg-type]
    ]
    assert observe(records, val_size=12).demo_fill == Count(15 + 4 + 3, 4 + 30 + 4 + 3)
    assert observe(records[:1], val_size=12).demo_fill == Count(15, 34)
    assert History(rates=counts(observe(records, 12))).demo_fill == 22 / 41
    assert History().demo_fill is None


def test_a_prompt_seen_before_grows_with_the_demo_sets_this_run_fills() -> None:
    plan = demo_plan(3).build()
    seen = {("local", "reply", "forward"): TokenMeans(40, 500.0, 20.0)}
    # the earlier runs' demo sets: never full, always full; and not measured (an older cache)
    empty, full = ({"demo_fill": (0, 100)}, {"demo_fill": (100, 100)})
    prompt = {name: estimate_cost(plan, history=History(seen, {"m": "local"}, rates)
                                  ).nodes[0].forward.prompt_tokens
              for name, rates in (("empty", empty), ("full", full), ("unknown", {}))}
    # this run is expected to fill its sets part of the way: more than never, less than always
    assert prompt["unknown"] == 500
    assert prompt["empty"] > 500 > prompt["full"]
    grown = compute_sizes(build_view(plan), reply="expected", fill=1.0).prompts["reply"] - \
        compute_sizes(build_view(plan), reply="expected", fill=0.0).prompts["reply"]
    assert prompt["empty"] - prompt["full"] == pytest.approx(grown, abs=1)


def _proposal(param: str, kind: str, verdict: str, val: int) -> ProposalRecord:
    return ProposalRecord(param, kind, 1, "", evaluated=True, val_evaluated=val,  # type: ignore[arg-type]
                          verdict=verdict)  # type: ignore[arg-type]


def test_a_run_without_demo_set_proposals_leaves_another_programs_forecast_alone() -> None:
    # a prompt-only program's run on the same task model: its samples say nothing of demo sets
    prompt_only = [StepRecord(s, proposals=[_proposal("instr", "prompt", "rejected", 20)],
                              batch=["a", "b", "c", "d"], drawn_errors=["a"], drawn_passed=["b"])
                   for s in (1, 2, 3)]
    assert observe(prompt_only, val_size=20).demo_fill == Count()
    rates = counts(observe(prompt_only, val_size=20))
    assert History(rates=rates).demo_fill is None
    plan = demo_plan(3).build()
    seen = {("local", "reply", "forward"): TokenMeans(40, 500.0, 20.0)}
    before = estimate_cost(plan, history=History(seen, {"m": "local"}, {}))
    after = estimate_cost(plan, history=History(seen, {"m": "local"}, rates))
    assert before.nodes[0].forward.prompt_tokens == after.nodes[0].forward.prompt_tokens == 500


@pytest.mark.parametrize("verdict", ["accepted", "rejected"])
def test_measured_and_forecast_fill_are_one_quantity_with_two_demo_sets(verdict: str) -> None:
    # two demos parameters, one demo-set proposal each per step, over two steps
    records = [StepRecord(s, proposals=[_proposal("d1", "demos", verdict, 12),
                                        _proposal("d2", "demos", verdict, 12)],
                          batch=["a", "b", "c", "d"], drawn_errors=["a", "b"], drawn_passed=["c"])
               for s in (1, 2)]
    measured = observe(records, val_size=12).demo_fill.share
    calls = costflow.ForwardCalls(before=0, step=4, demo=2 * (3 + 12), after=0)
    forecast = costflow.demo_fill(calls, steps=2, accept=float(verdict == "accepted"),
                                  proposals=1, params=2)
    assert measured == pytest.approx(forecast)
    # each proposal's own checks run with one of the two sets full: half, not all
    if verdict == "rejected":
        assert measured == pytest.approx(30 / 68)
