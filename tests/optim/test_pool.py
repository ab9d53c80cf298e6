"""The `pool` strategy: validated candidates kept across steps, a path that can go back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adf.compiler.pipeline import compile_source
from adf.optim.candidates import CandidatePool
from adf.optim.checkpoint import CheckpointError, load_checkpoint
from adf.optim.state import TrainState
from adf.optim.step import StepRunner
from adf.optim.trainer import Splits, Trainer, TrainOutcome
from adf.plan.schema import Demo, Plan
from adf.plan.settings import TrainSettings
from adf.runtime.bindings import bind
from adf.runtime.data import Sample
from adf.testing import credit_task as task


def _v(text: str) -> tuple[tuple[str, Any], ...]:
    return (("p", text),)


def test_the_pool_keeps_the_best_ranked_and_merges_repeats() -> None:
    pool = CandidatePool(size=3)
    for text, val, step in [("a", 0.2, 0), ("b", 0.5, 1), ("c", 0.5, 2), ("d", 0.1, 3),
                            ("e", 0.7, 4), ("b", 0.6, 5)]:
        pool = pool.add(_v(text), val, step)
    # the starting values ("a", step 0) keep their place although "c" scored higher
    assert [(m.values[0][1], m.val, m.step) for m in pool.members] == [
        ("e", 0.7, 4), ("b", 0.6, 1), ("a", 0.2, 0)]
    assert pool.best() is not None and pool.best() == pool.find(_v("e"))


def test_a_tie_starts_with_the_stalls_it_is_given() -> None:
    pool = CandidatePool(size=3).add(_v("a"), 0.2, 0).add(_v("b"), 0.5, 1)
    pool = pool.stalled(_v("b")).add(_v("tie"), 0.5, 2, stalls=2)
    assert pool.find(_v("tie")) is not None and pool.find(_v("tie")).stalls == 2
    back = pool.next_path(_v("b"), patience=2)  # b stalled once; stays
    assert back is None
    pool = pool.stalled(_v("b"))
    back = pool.next_path(_v("b"), patience=2)
    assert back is not None and back.values == _v("a")  # not the tie on b's plateau


def test_the_path_goes_back_only_after_patience_stalls_and_never_to_a_stalled_one() -> None:
    pool = CandidatePool(size=4).add(_v("a"), 0.5, 0).add(_v("b"), 0.4, 1).add(_v("c"), 0.3, 2)
    assert pool.next_path(_v("a"), patience=2) is None
    pool = pool.stalled(_v("a"))
    assert pool.next_path(_v("a"), patience=2) is None
    pool = pool.stalled(_v("a"))
    back = pool.next_path(_v("a"), patience=2)
    assert back is not None and back.values == _v("b")
    pool = pool.stalled(_v("b")).stalled(_v("b"))
    again = pool.next_path(_v("b"), patience=2)
    assert again is not None and again.values == _v("c")
    pool = pool.stalled(_v("c")).stalled(_v("c"))
    assert pool.next_path(_v("c"), patience=2) is None  # every member has had its turn


def test_candidates_round_trip_through_the_state_codec_with_demos() -> None:
    state = TrainState(values={"p": "x", "d": (Demo((("q", "1"), ("a", "2"))),)},
                       kinds={"p": "prompt", "d": "demos"})
    state.candidates = CandidatePool(size=2).add(tuple(state.values.items()), 0.5, 3)
    back = TrainState.from_json(json.loads(json.dumps(state.to_json())))
    assert back.candidates == state.candidates
    assert back.candidates.find(tuple(state.values.items())) is not None


def _plan(workflow: task.Workflow) -> Plan:
    result = compile_source(workflow.source.format(base="http://127.0.0.1:9"), "credit.adf")
    assert result.plan is not None
    return result.plan


def _splits(workflow: task.Workflow, repeats: int = 1) -> Splits:
    def samples(prefix: str, times: int = 1) -> tuple[Sample, ...]:
        return tuple(Sample(r["id"], (("question", r["question"]),), (("answer", r["answer"]),))
                     for r in task.rows(workflow, prefix, times))
    return Splits(samples("t", repeats), samples("v"), ())


def _trainer(workflow: task.Workflow, folder: Path, repeats: int = 1,
             **overrides: Any) -> Trainer:
    plan = _plan(workflow)
    client = task.ScriptedClient(task.responder(workflow))
    settings = TrainSettings(**{"steps": 6, "seed": 1, "strategy": "pool", **overrides})
    return Trainer(plan, _splits(workflow, repeats), client, settings, str(folder), bind(plan),
                   plan_hash="pool")


def _train(workflow: task.Workflow, folder: Path, repeats: int = 1,
           **overrides: Any) -> TrainOutcome:
    return asyncio.run(_trainer(workflow, folder, repeats, **overrides).run())


def test_pool_reaches_every_cue_goes_back_when_stalled_and_ends_on_the_best(
        tmp_path: Path) -> None:
    outcome = _train(task.TWO, tmp_path)
    state = outcome.state
    assert task.cues_found(task.TWO, state.values) == 4
    assert state.val_after == pytest.approx(task.ceiling(task.TWO))
    moved = [r for r in state.records if r.path]
    assert moved and state.counters.get("pool_path_changes", 0) == len(moved)
    assert any(r.path_val is not None and r.path_val < (r.val_score or 0) for r in state.records)
    best = state.candidates.best()
    assert best is not None and best.val == state.val_after
    assert [m.val for m in state.candidates.members] == sorted(
        (m.val for m in state.candidates.members), reverse=True)
    assert len(state.candidates.members) <= 4
    saved = load_checkpoint(str(tmp_path), "pool")
    assert saved["candidates"]["members"][0]["val"] == best.val
    assert outcome.report["steps"][[r.path is not None for r in state.records].index(True)]["path"]


def test_joint_keeps_no_candidates(tmp_path: Path) -> None:
    outcome = _train(task.ONE, tmp_path, strategy="joint", steps=2)
    assert outcome.state.candidates.members == ()


def test_a_pool_run_resumed_after_a_crash_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    full = _train(task.TWO, tmp_path / "full")
    first = _trainer(task.TWO, tmp_path / "cut")

    async def three_steps() -> None:
        first.state = first.fresh_state()
        await first._setup()
        for _ in range(3):
            await StepRunner(first).run()

    asyncio.run(three_steps())
    resumed = asyncio.run(_trainer(task.TWO, tmp_path / "cut").run(resume=True))
    assert resumed.state.values == full.state.values
    assert resumed.state.candidates == full.state.candidates
    assert [r.path for r in resumed.state.records] == [r.path for r in full.state.records]


def test_a_damaged_candidate_list_is_refused_with_its_place(tmp_path: Path) -> None:
    _train(task.ONE, tmp_path, steps=1)
    path = tmp_path / "checkpoint.json"
    body = json.loads(path.read_text())
    body["state"]["candidates"]["members"][0]["val"] = "high"
    path.write_text(json.dumps(body))
    with pytest.raises(CheckpointError, match=r"state\.candidates\.members\[0\]\.val"):
        load_checkpoint(str(tmp_path), "pool")


def test_pool_leaves_the_shortcut_that_traps_the_greedy_path(tmp_path: Path) -> None:
    trap = task.TRAP
    joint = _train(trap, tmp_path / "joint", strategy="joint", steps=8, seed=1)
    pool = _train(trap, tmp_path / "pool", strategy="pool", steps=8, seed=1)
    # joint takes the shortcut with its first change and never leaves it
    assert trap.shortcut in str(joint.state.values["style"])
    assert joint.state.val_after == pytest.approx(0.375)
    # pool goes back to the start once the shortcut's plateau has stalled, and climbs past it
    assert pool.state.counters.get("pool_path_changes", 0) >= 1
    assert trap.shortcut not in str(pool.state.values["style"])
    assert task.cues_found(trap, pool.state.values) == task.cue_count(trap)
    assert pool.state.val_after == pytest.approx(task.ceiling(trap))


def test_pool_takes_back_the_part_of_a_joint_change_that_blocks_the_rest(tmp_path: Path) -> None:
    trap = task.TRAP  # the benchmark's split: 32 training samples
    joint = _train(trap, tmp_path / "joint", repeats=2, strategy="joint", steps=8, seed=1)
    pool = _train(trap, tmp_path / "pool", repeats=2, strategy="pool", steps=8, seed=1)
    assert trap.shortcut in str(joint.state.values["style"])
    assert pool.state.counters.get("taken_back", 0) == 1
    taken = [p for r in pool.state.records for p in r.proposals
             if p.reasoning == "the joint change without this part" and p.verdict == "accepted"]
    assert [(p.param, p.value) for p in taken] == [("style", "Be brief.")]
    assert pool.state.val_after == pytest.approx(task.ceiling(trap))
