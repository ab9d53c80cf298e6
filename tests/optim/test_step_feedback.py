"""Partial credit in the draw, and feedback recomputed after an earlier change in the step."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from test_pool import _train

from adf.compiler.pipeline import compile_source
from adf.optim.prompt_step import Attempt, PromptStep, Refreshed
from adf.optim.proposal import Proposal
from adf.optim.records import ProposalRecord, StepRecord
from adf.optim.sampler import Pool
from adf.optim.state import TrainState
from adf.optim.tgd import OptimizerInput, SampleView
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.feedback import Feedback
from adf.testing import credit_task as task


def _pool(scores: dict[str, float], partial: float) -> Pool:
    return Pool(cap=20, threshold=0.9, partial=partial).add(scores.items())


def test_failures_are_drawn_before_partial_credit() -> None:
    scores = {"f1": 0.0, "f2": 0.2, "p1": 0.6, "p2": 0.8, "ok": 1.0}
    for seed in range(20):
        errors, passed = _pool(scores, 0.5).draw(random.Random(seed), 2, 2)
        assert sorted(errors) == ["f1", "f2"] and passed == ["ok"]
    one = {"f1": 0.0, "p1": 0.6, "p2": 0.8, "ok": 1.0}
    drawn = {tuple(_pool(one, 0.5).draw(random.Random(s), 2, 2)[0]) for s in range(20)}
    assert all(d[0] == "f1" and d[1] in ("p1", "p2") for d in drawn)  # a near miss fills up
    only = {"p1": 0.6, "p2": 0.8, "ok": 1.0}
    assert sorted(_pool(only, 0.5).draw(random.Random(0), 2, 2)[0]) == ["p1", "p2"]


def test_without_partial_scores_the_draw_is_what_it_was() -> None:
    scores: dict[str, Any] = {f"s{i}": (0.0 if i % 3 else 1.0) for i in range(12)}
    for seed in range(10):
        old = _pool(scores, 0.9).draw(random.Random(seed), 2, 2)  # every error a failure
        new = _pool(scores, 0.5).draw(random.Random(seed), 2, 2)
        assert old == new


def test_an_old_checkpoint_pool_without_partial_reads_as_all_failures() -> None:
    body = _pool({"a": 0.7}, 0.5).to_json()
    del body["partial"]
    assert Pool.from_json(body).partial == 0.9


class _Proposer:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def ask(self, data: OptimizerInput, seen: Sequence[str]) -> Attempt:
        self.asked.append(data.name)
        return Attempt(Proposal(data.value + " Better.", "why", "json"), None, ())


class _Host:
    """A trainer stand-in: accepts every proposal; refreshed feedback clears `b`."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.proposer = _Proposer()
        self.limits_by_param: dict[str, int] = {}
        self.refreshed: list[list[str]] = []

    def reject(self, work: TrainState, record: StepRecord, entry: ProposalRecord, kind: str,
               detail: str) -> None:
        entry.reject(kind, detail)
        record.proposals.append(entry)

    async def gate_values(self, work: TrainState, changes: Mapping[str, ParamValue],
                          mini: list[Sample], mini_scores: list[float],
                          entries: Sequence[ProposalRecord]) -> list[float] | None:
        work.values.update(changes)
        for entry in entries:
            entry.verdict = "accepted"
        return [1.0 for _ in mini_scores]

    async def refresh(self, work: TrainState, record: StepRecord,
                      samples: Sequence[str]) -> Refreshed:
        self.refreshed.append(list(samples))
        return Refreshed({"b": (Feedback("b", "s1", "solve", None, 0.0, "not at fault"),)}, {})


def _step(plan: Plan) -> tuple[PromptStep, _Host]:
    host = _Host(plan)
    work = TrainState(values={"a": "A.", "b": "B."}, kinds={"a": "prompt", "b": "prompt"})
    feedback = {name: (Feedback(name, "s1", "solve", None, 0.0, f"Fix {name}."),)
                for name in ("a", "b")}
    views = {"s1": SampleView("s1", 0.0, "question: q", "x", "y")}
    step = PromptStep(host, work, StepRecord(1), feedback, views, (), [], [], proposals=2)  # type: ignore[arg-type]
    return step, host


def _two_params() -> Plan:
    source = task.ONE.source.format(base="http://127.0.0.1:9")
    source = source.replace("instruction", "a").replace("style", "b")
    result = compile_source(source, "two.adf")
    assert result.plan is not None
    return result.plan


def test_a_parameter_cleared_by_recomputed_feedback_gets_no_call() -> None:
    step, host = _step(_two_params())
    asyncio.run(step.run("sequential"))
    assert host.proposer.asked == ["a"]  # `b` was cleared once `a` had changed
    assert host.refreshed == [["s1"]]


def test_without_a_change_the_feedback_is_not_recomputed() -> None:
    step, host = _step(_two_params())
    asyncio.run(step.run("joint"))  # both gated together and accepted: nothing left to ask
    assert sorted(host.proposer.asked) == ["a", "b"] and host.refreshed == []


def test_feedback_is_recomputed_in_a_real_sequential_run(tmp_path: Path) -> None:
    outcome = _train(task.TWO, tmp_path, strategy="sequential", steps=4)
    state = outcome.state
    assert task.cues_found(task.TWO, state.values) == 4
    assert state.counters.get("feedback_recomputed", 0) > 0
