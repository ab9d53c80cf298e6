"""Evaluation and training from Python (`adf.Workflow.evaluate` / `.train`), on the fake server."""

from __future__ import annotations

import json
from pathlib import Path

import optim_task as task
import pytest
from test_cli_train import make_project as project

import adf
from adf.testing.fake_server import FakeServer


def test_evaluate_then_train_then_serve_the_trained_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = project(tmp_path / "proj")
    events: list[str] = []
    with FakeServer(task.responder()) as server:
        options = {"api_bases": {"m": server.base_url}, "cache": str(tmp_path / "c.sqlite")}
        wf = adf.load(str(source), **options)
        before = wf.evaluate(split="val")
        trained = wf.train(steps=4, seed=3, out=str(tmp_path / "run"),
                           on_event=lambda kind, _data: events.append(kind))
        again = adf.load(str(source), **options)
        after = again.evaluate(split="val")
        answer = again(question=task.question("plum", 4))
    assert before.score is not None and after.score is not None
    assert after.score > before.score and len(after.result.samples) == len(task.VAL)
    assert before.usage.calls >= len(task.VAL) and before.data.endswith("val.jsonl")
    assert trained.status == "completed" and trained.changed == ("instruction",)
    assert trained.lock_file is not None and trained.lock_file.endswith("count.adf.lock")
    assert json.loads(Path(trained.lock_file).read_text())["params"]["instruction"][
        "value"] == task.BEST
    assert trained.scores["val_after"] == pytest.approx(after.score)
    assert "setup" in events and "step" in events
    assert again.trained == ("instruction",) and again.params()["instruction"] == task.BEST
    assert answer.output == 4


def test_train_rejects_a_plan_and_unknown_options(tmp_path: Path) -> None:
    source = project(tmp_path / "proj")
    wf = adf.load(str(source))
    with pytest.raises(adf.WorkflowError, match="unknown training option"):
        wf.train(stepz=2)
    with pytest.raises(adf.WorkflowError, match="--steps must be at least 1"):
        wf.train(steps=0)
