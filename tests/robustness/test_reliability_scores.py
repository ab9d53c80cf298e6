"""Failed model calls are neither right nor wrong; bad data rows are never dropped silently."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import optim_task as task
import pytest

from adf.cli.main import main
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.optim.trainer import Splits, Trainer, TrainOutcome
from adf.plan.settings import TrainSettings
from adf.runtime.bindings import bind
from adf.testing.fake_server import FakeServer, FaultPlan


def _train(server: FakeServer, run_dir: Path) -> TrainOutcome:
    plan = task.build_plan(server.base_url)
    splits = Splits(task.samples(task.TRAIN), task.samples(task.VAL), task.samples(task.TEST))
    client = LiteLLMClient(retry=RetryPolicy(max_retries=1, base_s=0.001, max_delay_s=0.002),
                           timeout_s=10.0)
    settings = TrainSettings(steps=4, batch_size=4, proposals=3, seed=3)
    trainer = Trainer(plan, splits, client, settings, str(run_dir), bind(plan), plan_hash="t")
    return asyncio.run(trainer.run())


def test_failed_calls_do_not_lower_scores_and_are_counted(tmp_path: Path) -> None:
    with FakeServer(task.responder()) as server:
        healthy = _train(server, tmp_path / "healthy")
    faults = FaultPlan(rate=0.3, kinds=("500",), seed=11)
    with FakeServer(task.responder(), faults=faults) as server:
        flaky = _train(server, tmp_path / "flaky")
        injected = len(server.faults_sent)
        sent = server.request_count
    assert injected > 0
    report = flaky.report
    # what report.json says was used is what the server saw: each fault was retried or
    # ended a call as failed
    usage = json.loads((tmp_path / "flaky" / "report.json").read_text())["usage"]
    assert usage["failures"] > 0
    assert usage["requests"] == sent
    assert usage["retries"] + usage["failures"] == injected
    assert report["call_failed"] > 0, "the fault rate left no sample unscored; pick another seed"
    assert report["call_failed"] == report["counters"]["call_failed_samples"]
    assert report["call_failed"] >= sum(s["call_failed"] for s in report["steps"])
    # the samples that could be scored are scored exactly as on a healthy server
    assert report["scores"]["test_after"] == healthy.report["scores"]["test_after"] == 1.0
    html = (tmp_path / "flaky" / "report.html").read_text()
    assert "not scored" in html


def test_train_reports_every_bad_row(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "count.adf"
    source.write_text(task.ADF_SOURCE.format(base="http://127.0.0.1:9/v1"), encoding="utf-8")
    task.write_data(str(tmp_path / "data"))
    with open(tmp_path / "data" / "train.jsonl", "ab") as handle:
        handle.write(b'{"question": "\xff", "answer": 1}\nnot json\n')
    args = ["train", str(source), "--steps", "1", "--out", str(tmp_path / "run"), "--quiet"]
    with FakeServer(task.responder()) as server:
        assert main([*args, "--api-base", f"m={server.base_url}", "--no-cache"]) == 0
        out = capsys.readouterr().out
        assert "2 bad data rows skipped" in out
        assert "train.jsonl" in out and "not UTF-8" in out
        report = json.loads((tmp_path / "run" / "report.json").read_text())
        assert [b["message"].split(":")[0] for b in report["data"]["bad_rows"]] == [
            "not UTF-8", "not valid JSON (Expecting value at column 1)"]
        assert "not UTF-8" in (tmp_path / "run" / "report.html").read_text()
        made = server.request_count
        strict = [*args[:-3], "--out", str(tmp_path / "run2"), "--strict-data",
                  "--api-base", f"m={server.base_url}"]
        assert main(strict) == 2
        err = capsys.readouterr().err
        assert "--strict-data" in err and "train.jsonl:" in err
        assert server.request_count == made  # stopped before any model call
