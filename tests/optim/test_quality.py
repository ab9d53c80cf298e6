"""The optimizer's quality fixes: fair gate, cleared feedback, full context, guard, demos, steps."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from adf.compiler.pipeline import compile_source
from adf.optim.demos import collect, labeled
from adf.optim.gate import gate
from adf.optim.guard import find_leak
from adf.optim.tgd import (
    HistoryEntry,
    OptimizerInput,
    RejectedProposal,
    SampleView,
    build_prompt,
    meta_text,
)
from adf.optim.trainer import Splits, Trainer, TrainOutcome
from adf.plan.schema import Plan
from adf.plan.settings import TrainSettings
from adf.runtime.bindings import bind
from adf.runtime.data import Sample
from adf.runtime.feedback import Feedback, is_cleared
from adf.runtime.template import ParamValue
from adf.testing import credit_task as task


def _samples(n: int) -> list[Sample]:
    return [Sample(f"s{i}", (), ()) for i in range(n)]


# --- gate -------------------------------------------------------------------------


def test_a_perfect_candidate_beats_a_perfect_minibatch_on_validation() -> None:
    """The certain-rejection case: the minibatch is already all correct."""

    async def score(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        return [1.0 if values["p"] == "good" or s.id in ("s0", "s1") else 0.0 for s in samples]

    result = asyncio.run(gate(score, {"p": "good"}, _samples(2), [1.0, 1.0], _samples(8), 0.25))
    assert result.accepted and result.val_after == 1.0 and result.val_evaluated == 8
    strict = asyncio.run(gate(score, {"p": "good"}, _samples(2), [1.0, 1.0], _samples(8), 0.25,
                              minibatch_strict=True))
    assert not strict.accepted and strict.val_evaluated == 0


def test_a_tie_on_the_minibatch_earns_a_validation_check_and_worse_does_not() -> None:
    calls: list[int] = []

    async def score(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        calls.append(len(samples))
        return [0.0 for _ in samples]

    tie = asyncio.run(gate(score, {"p": "x"}, _samples(2), [0.0, 0.0], _samples(8), 0.0))
    assert not tie.accepted and tie.val_evaluated == 8 and "validation" in tie.reason
    calls.clear()
    worse = asyncio.run(gate(score, {"p": "x"}, _samples(2), [1.0, 0.0], _samples(8), 0.0))
    assert not worse.accepted and worse.val_evaluated == 0 and calls == [2]


# --- optimizer context and guard ----------------------------------------------------


def test_optimizer_prompt_shows_samples_passes_history_peers_others_and_limit() -> None:
    feedback = (Feedback("p", "s1", "solve", None, 0.0, "Say the unit."),)
    data = OptimizerInput(
        "p", "how to answer", "Answer.", (("fmt", "End with Answer: N"),), feedback,
        (HistoryEntry("Answer.", 0.25, 0),), (RejectedProposal("Answer now.", "gate"),),
        samples=(SampleView("s1", 0.0, "question: 3 kg?", "pred: 3", "answer: 3 kg"),),
        passing=(SampleView("s2", 1.0, "question: 2?", "pred: 2", "answer: 2"),),
        others=(("reader", "Read the question."),), max_tokens=120)
    user = build_prompt(data, context_tokens=None, reply_tokens=100,
                        json_mode=False).messages[1].content
    for text in ("question: 3 kg?", "answer: pred: 3", "expected: answer: 3 kg", "Say the unit.",
                 "example s2", "score 0.25: Answer.", "End with Answer: N", "Read the question.",
                 "Answer now.", "under about 120 tokens"):
        assert text in user, text
    assert user.index("Say the unit.") < user.index("example s2") < user.index("Read the question.")
    small = build_prompt(data, context_tokens=780, reply_tokens=100, json_mode=False)
    assert small.fits and small.trims and "Say the unit." in small.messages[1].content


@pytest.mark.parametrize("text", ["Follow the answer format exactly.",
                                  "Answer in exactly this format: Answer: <n>",
                                  "Keep it short and clear.",
                                  "Count the items one by one; keep what already works."])
def test_ordinary_instructions_are_not_leaks(text: str) -> None:
    assert find_leak(text, meta_text(), ["Answer."]) is None


def test_code_is_not_a_prompt_but_prose_with_a_colon_is() -> None:
    from adf.optim.guard import is_prose

    assert not is_prose("```python\nimport json\ndef instruction(input):\n    return {")
    assert not is_prose("def solve(q):\n    return count(q)")
    assert is_prose("Count the items.\nFinish with: Answer: <integer>")
    assert is_prose("If the list names a kind, count only that kind.")


def test_parroted_meta_prompt_is_still_a_leak() -> None:
    meta = meta_text()
    assert find_leak("Fix the failures: examples the current text gets right stay right.",
                     meta, []) is not None
    assert find_leak("There was no improvement for 3 steps: try harder.", meta, []) is not None


def test_cleared_feedback_is_recognised() -> None:
    assert is_cleared("not at fault")
    assert is_cleared("This part is not at fault.")
    assert not is_cleared("Add the unit; the part is not at fault for the rounding but "
                          "it should ask for units explicitly and say so in every answer.")
    assert not is_cleared("Ask for the unit.")


# --- demos ------------------------------------------------------------------------


def _plan(source: str) -> Plan:
    result = compile_source(source, "demo.adf")
    assert result.plan is not None, result.diagnostics
    return result.plan


DEMO_SOURCE = '''model m = "openai/fake" { temperature: 0 }
train { backward: m, optimizer: m }
param examples: demos(max: 2) "worked examples" = []
input question: str
target answer: str
llm solve(question: str) -> str using m {
  system: [examples]
  user: "Question: {question}"
}
node reply = solve(question)
loss acc = std.loss.exact_match(reply, answer)
output reply
'''


def test_labeled_demos_come_straight_from_the_training_split() -> None:
    plan = _plan(DEMO_SOURCE)
    train = [Sample(f"t{i}", (("question", f"q{i}"),), (("answer", f"a{i}"),)) for i in range(3)]
    found = labeled(plan, "examples", train)
    assert [c.sample for c in found] == ["t0", "t1", "t2"]
    assert dict(found[0].demo.fields) == {"question": "q0", "answer": "a0"}
    assert all(c.source == "label" and c.weight > 0 for c in found)


def test_trace_demos_keep_the_reasoning_and_weigh_less_than_labels() -> None:
    plan = _plan(DEMO_SOURCE)
    client = task.ScriptedClient(lambda request: "Two and two... so: right")
    samples = [Sample("t0", (("question", "q"),), (("answer", "Two and two... so: right"),)),
               Sample("t1", (("question", "p"),), (("answer", "other"),))]
    from adf.runtime.engine import evaluate

    result = asyncio.run(evaluate(plan, samples, client, bindings=bind(plan)))
    found = {c.sample: c for c in collect(plan, "examples", result.samples, {}, 0.9)}
    assert dict(found["t0"].demo.fields)["answer"] == "Two and two... so: right"
    assert found["t0"].source == "trace" and found["t1"].source == "label"
    assert found["t0"].weight < found["t1"].weight


def test_trace_demos_of_schema_replies_show_the_value_not_the_json() -> None:
    source = DEMO_SOURCE.replace("-> str using m", "-> enum{right, wrong} using m").replace(
        "target answer: str", "target answer: enum{right, wrong}").replace(
        "std.loss.exact_match", "std.loss.label_match")
    plan = _plan(source)
    client = task.ScriptedClient(lambda request: '{"answer" : "right"}')
    samples = [Sample("t0", (("question", "q"),), (("answer", "right"),))]
    from adf.runtime.engine import evaluate

    result = asyncio.run(evaluate(plan, samples, client, bindings=bind(plan)))
    assert result.samples[0].node(plan.nodes[0].id).reply_mode == "schema"
    (found,) = collect(plan, "examples", result.samples, {}, 0.9)
    assert found.source == "trace"
    assert dict(found.demo.fields)["answer"] == "right"


# --- the trainer on the scripted credit-assignment task -------------------------------


def _train(workflow: task.Workflow, tmp: Path, **overrides: Any) -> tuple[TrainOutcome, Any]:
    plan = _plan(workflow.source.format(base="http://127.0.0.1:9"))
    rows = [Sample(r["id"], (("question", r["question"]),), (("answer", r["answer"]),))
            for r in task.rows(workflow, "t")]
    val = [Sample(r["id"], (("question", r["question"]),), (("answer", r["answer"]),))
           for r in task.rows(workflow, "v")]
    client = task.ScriptedClient(task.responder(workflow, wrong=overrides.pop("wrong", 0.0)))
    train = tuple(overrides.pop("train", rows))
    settings = TrainSettings(**{"steps": 3, "seed": 1, **overrides})
    trainer = Trainer(plan, Splits(train, tuple(val), ()), client,
                      settings, str(tmp), bind(plan), plan_hash="t")
    return asyncio.run(trainer.run()), client


def test_joint_proposals_find_every_cue_across_nodes(tmp_path: Path) -> None:
    outcome, _ = _train(task.TWO, tmp_path)
    assert task.cues_found(task.TWO, outcome.state.values) == 4
    assert outcome.state.val_score == pytest.approx(task.ceiling(task.TWO))
    proposals = [p for r in outcome.state.records for p in r.proposals]
    assert any(p.joint and p.verdict == "accepted" for p in proposals)


def test_cleared_parameters_get_no_optimizer_call(tmp_path: Path) -> None:
    outcome, client = _train(task.ONE, tmp_path, steps=5)
    assert outcome.state.counters.get("skipped_cleared", 0) > 0
    asked = [p.param for r in outcome.state.records for p in r.proposals]
    assert client.calls["optimizer"] == len(asked)


def test_wrong_reviews_leave_no_harm_behind(tmp_path: Path) -> None:
    outcome, _ = _train(task.ONE, tmp_path, steps=6, wrong=0.4)
    assert not any(task.HARM in str(v) for v in outcome.state.values.values())
    proposals = [p for r in outcome.state.records for p in r.proposals]
    assert any(task.HARM in str(p.value) for p in proposals), "no harmful advice was tried"
    assert (outcome.state.val_score or 0) > (outcome.state.val_before or 0)


def test_an_all_correct_batch_draws_more_until_it_finds_a_failure(tmp_path: Path) -> None:
    plain = [Sample(f"p{i}", (("question", f"[plain] case p{i}"),), (("answer", "right"),))
             for i in range(8)]
    hard = [Sample("u0", (("question", "[units] case u0"),), (("answer", "right"),))]
    outcome, _ = _train(task.ONE, tmp_path, steps=1, batch_size=4, train=plain + hard,
                        fill_batches=2)
    record = outcome.state.records[0]
    assert len(record.batch) > 4 and "u0" in record.batch
    assert record.proposals, "no proposal in a step whose first batch was all correct"
    none, _ = _train(task.ONE, tmp_path / "off", steps=1, batch_size=4, train=plain + hard,
                     fill_batches=0)
    assert none.state.records[0].batch != record.batch or not none.state.records[0].proposals
