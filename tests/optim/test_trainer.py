"""The trainer on the fake server: it finds the better wording, gates a worse one, obeys budgets."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import optim_task as task
import pytest

from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.optim.report import deterministic_view
from adf.optim.step import StepRunner
from adf.optim.trainer import Splits, Trainer, TrainOutcome
from adf.plan.settings import Limits, TrainSettings
from adf.records import replace
from adf.runtime.bindings import bind
from adf.testing.fake_server import FakeServer, FaultPlan, system_text


def _client() -> LiteLLMClient:
    return LiteLLMClient(retry=RetryPolicy(max_retries=2, base_s=0.01, max_delay_s=0.02),
                         timeout_s=10.0)


def _splits() -> Splits:
    return Splits(task.samples(task.TRAIN), task.samples(task.VAL), task.samples(task.TEST))


def train(server: FakeServer, run_dir: Path, **overrides: Any) -> TrainOutcome:
    plan = task.build_plan(server.base_url)
    settings = TrainSettings(**{"steps": 4, "batch_size": 4, "proposals": 3, "seed": 3,
                                **overrides})
    trainer = Trainer(plan, _splits(), _client(), settings, str(run_dir), bind(plan),
                      plan_hash="test")
    return asyncio.run(trainer.run())


def test_training_finds_the_cue_and_gates_the_worse_proposal(tmp_path: Path) -> None:
    with FakeServer(task.responder()) as server:
        outcome = train(server, tmp_path)
    state = outcome.state
    assert state.values["instruction"] == task.BEST
    assert state.val_before == 0.0
    assert state.val_score == 1.0
    assert outcome.report["scores"]["test_after"] == 1.0
    proposals = [p for s in state.records for p in s.proposals]
    worse = [p for p in proposals if p.value == task.WORSE]
    assert worse, "the worse proposal was never tried"
    assert all(p.verdict == "rejected" and p.rejection == "gate" for p in worse)
    assert any("validation" in p.reason for p in worse)
    accepted = [p.value for p in proposals if p.verdict == "accepted"]
    assert accepted == [task.FIRST, task.BEST]
    assert (tmp_path / "report.html").read_text().count("<svg") >= 2
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["params"]["instruction"]["final"] == task.BEST


def test_leaked_meta_prompt_is_rejected_without_evaluation(tmp_path: Path) -> None:
    leak = ("Write a new version of the part that fixes the problems above. "
            "Keep what already works. COUNT CAREFULLY.")

    def optimizer(request: dict[str, Any]) -> str:
        if "TRIED IN THIS STEP AND REJECTED" in request["messages"][-1]["content"]:
            return task.scripted_optimizer(request)
        return f"<proposed_value>{leak}</proposed_value>"

    with FakeServer(task.responder(optimizer)) as server:
        outcome = train(server, tmp_path, steps=1)
        forward_systems = [system_text(r) for r in server.requests
                           if not task.is_optimizer(r) and not task.is_backward(r)]
    assert not any(leak in s for s in forward_systems), "a leaked proposal was evaluated"
    proposals = outcome.state.records[0].proposals
    assert proposals[0].rejection == "leak" and proposals[0].evaluated is False
    assert outcome.report["leaks_rejected"] == 1
    assert outcome.state.values["instruction"] == task.FIRST


def test_malformed_optimizer_reply_is_a_rejected_proposal(tmp_path: Path) -> None:
    with FakeServer(task.responder(lambda r: "I think the prompt is fine as it is.")) as server:
        outcome = train(server, tmp_path, steps=2, proposals=2)
    kinds = {p.rejection for s in outcome.state.records for p in s.proposals}
    assert kinds == {"unparseable"}
    assert outcome.state.values["instruction"] == task.INITIAL
    assert outcome.state.phase == "done"


@pytest.mark.parametrize("limit", [7, 23, 40])
def test_max_calls_is_never_exceeded(tmp_path: Path, limit: int) -> None:
    with FakeServer(task.responder()) as server:
        outcome = train(server, tmp_path, steps=6, limits=Limits(max_calls=limit))
        made = server.request_count
    assert made <= limit
    assert outcome.report["usage"]["calls"] <= limit
    if outcome.stopped_by is not None:
        assert "calls budget" in outcome.stopped_by
        assert outcome.report["status"].startswith("stopped")


@pytest.mark.parametrize("limit", [25, 40, 60])
def test_max_calls_counts_retries_and_holds_under_faults(tmp_path: Path, limit: int) -> None:
    """--max-calls bounds provider requests, retries included, whatever the faults."""
    faults = FaultPlan(rate=0.3, kinds=("429", "500", "malformed"), seed=5, max_per_request=2,
                       retry_after=0.01)
    with FakeServer(task.responder(), faults=faults) as server:
        outcome = train(server, tmp_path, steps=6, limits=Limits(max_calls=limit))
        made = server.request_count
        injected = len(server.faults_sent)
    usage = outcome.report["usage"]
    assert injected > 0
    assert made <= limit
    assert usage["requests"] == made  # the request log and the report agree
    assert 0 < usage["retries"] < made
    assert usage["cache_hits"] + usage["requests"] - usage["retries"] <= usage["calls"]
    if outcome.stopped_by is not None:
        assert "calls budget" in outcome.stopped_by
        assert "provider requests" in outcome.stopped_by


def test_resume_after_crash_equals_uninterrupted_run(tmp_path: Path) -> None:
    with FakeServer(task.responder()) as server:
        full = train(server, tmp_path / "full")
        plan = task.build_plan(server.base_url)
        settings = TrainSettings(steps=4, batch_size=4, proposals=3, seed=3)
        # stop after two steps, as a crash right after a checkpoint would
        first = Trainer(plan, _splits(), _client(), settings, str(tmp_path / "cut"), bind(plan),
                        plan_hash="test")
        cut = asyncio.run(_run_steps(first, 2))
        assert cut == 2
        again = Trainer(plan, _splits(), _client(), settings, str(tmp_path / "cut"), bind(plan),
                        plan_hash="test")
        resumed = asyncio.run(again.run(resume=True))
    assert resumed.state.values == full.state.values
    assert deterministic_view(resumed.report) == deterministic_view(full.report)


async def _run_steps(trainer: Trainer, steps: int) -> int:
    trainer.state = trainer.fresh_state()
    await trainer._setup()
    for _ in range(steps):
        await StepRunner(trainer).run()
    return trainer.state.step


def test_checkpoint_is_written_after_every_step(tmp_path: Path) -> None:
    with FakeServer(task.responder()) as server:
        train(server, tmp_path, steps=2)
    body = json.loads((tmp_path / "checkpoint.json").read_text())
    assert body["state"]["step"] == 2 and body["state"]["phase"] == "done"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def _demo_task(asked: list[str]) -> Any:
    """A responder whose student counts right only with examples in its system prompt;
    `asked` gets one entry per backward or optimizer request."""

    def respond(request: dict[str, Any]) -> Any:
        if task.is_backward(request):
            asked.append("backward")
            return task.backward_reply(request)
        if task.is_optimizer(request):
            asked.append("optimizer")
            return "no idea"
        question = request["messages"][-1]["content"]
        count = len(question.rsplit(":", 1)[-1].replace("?", " ").split())
        return f"Answer: {count if 'Examples:' in system_text(request) else 0}"

    return respond


def _train_demos(server: FakeServer, run_dir: Path, proposals: int) -> TrainOutcome:
    from adf.plan.schema import ParamDecl, TemplatePart

    plan = task.build_plan(server.base_url)
    shots = ParamDecl("shots", "demos", "", (), False, "", 2, task.SPAN, None)
    node = plan.nodes[0]
    assert node.llm is not None
    llm = replace(node.llm, system=(*node.llm.system, TemplatePart("param", param="shots")))
    plan = replace(plan, params=(*plan.params, shots),
                   nodes=(replace(node, llm=llm), *plan.nodes[1:]))
    settings = TrainSettings(steps=2, batch_size=4, proposals=proposals, seed=1)
    trainer = Trainer(plan, _splits(), _client(), settings, str(run_dir), bind(plan),
                      plan_hash="demos")
    return asyncio.run(trainer.run())


def test_demo_optimizer_fills_demos_under_the_gate(tmp_path: Path) -> None:
    asked: list[str] = []
    with FakeServer(_demo_task(asked)) as server:
        outcome = _train_demos(server, tmp_path, proposals=1)
    demos = outcome.state.values["shots"]
    assert isinstance(demos, tuple) and 1 <= len(demos) <= 2
    assert dict(demos[0].fields)["answer"].isdigit()
    accepted = [p for s in outcome.state.records for p in s.proposals
                if p.verdict == "accepted"]
    assert [p.kind for p in accepted] == ["demos"]
    assert outcome.state.val_score == 1.0
    assert "backward" in asked  # the instruction is still trained


def test_no_prompt_proposals_means_no_backward_calls(tmp_path: Path) -> None:
    asked: list[str] = []
    with FakeServer(_demo_task(asked)) as server:
        outcome = _train_demos(server, tmp_path, proposals=0)
    assert asked == []  # feedback nobody would read is not asked for
    assert outcome.state.counters["backward_skipped"] >= 1
    assert [p.kind for s in outcome.state.records for p in s.proposals
            if p.verdict == "accepted"] == ["demos"]
    assert outcome.state.val_score == 1.0


def test_a_run_stopped_by_budget_resumes_with_a_larger_one(tmp_path: Path) -> None:
    with FakeServer(task.responder()) as server:
        stopped = train(server, tmp_path, limits=Limits(max_calls=25))
        assert stopped.stopped_by is not None and stopped.state.step < 4
        plan = task.build_plan(server.base_url)
        settings = TrainSettings(steps=4, batch_size=4, proposals=3, seed=3)
        again = Trainer(plan, _splits(), _client(), settings, str(tmp_path), bind(plan),
                        plan_hash="test")
        resumed = asyncio.run(again.run(resume=True))
    assert resumed.state.step == 4 and resumed.state.phase == "done"
    assert resumed.report["scores"]["test_after"] is not None
