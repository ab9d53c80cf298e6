"""The Ray executor on a local instance (2 CPUs) against the fake server.

Reports equal the default executor's (eval and a 2-step training), a warm
re-run makes no model call, the shared rate limit holds in the fake server's
log, the budget holds across workers, and a worker killed mid-shard loses
no sample and counts none twice.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import optim_task
import pytest
import scale_task as task

from adf.cli.main import main
from adf.compiler.pipeline import compile_file
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.optim.report import deterministic_view
from adf.optim.trainer import Splits, Trainer, TrainOutcome
from adf.plan.settings import Limits, TrainSettings
from adf.runtime.bindings import bind
from adf.runtime.data import load_data
from adf.runtime.engine import evaluate
from adf.testing.fake_server import FakeServer

pytestmark = pytest.mark.ray


def _eval_json(source: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data = str(source.parent / "data.jsonl")
    assert main(["eval", str(source), "--data", data, "--json", *extra]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def _same(report: dict[str, Any]) -> Any:
    view = deterministic_view(report)
    view["usage"].pop("latency_s", None)
    return view


def test_eval_report_equals_the_default_executors_and_a_warm_rerun_makes_no_call(
    ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with FakeServer(task.answer) as server:
        source = task.make_project(tmp_path / "proj", server.base_url, task.rows(40))
        here = _eval_json(source, "--cache", "here.sqlite", capsys=capsys)
        cold = _eval_json(source, "--cache", "ray.sqlite", "--executor", f"ray={ray_head}",
                          "--workers", "2", capsys=capsys)
        assert server.request_count == 80
        warm = _eval_json(source, "--cache", "ray.sqlite", "--executor", f"ray={ray_head}",
                          capsys=capsys)
        assert server.request_count == 80  # every reply came from the shared cache
    assert 0 < here["score"] < 1
    assert _same(cold) == _same(here)
    assert [r["id"] for r in cold["results"]] == [f"s{i}" for i in range(40)]
    assert warm["usage"]["requests"] == 0 and warm["usage"]["cache_hits"] == 40
    assert warm["results"] == cold["results"]


def _train(server: FakeServer, run_dir: Path, executor: Any = None, **limits: Any) -> TrainOutcome:
    plan = optim_task.build_plan(server.base_url)
    client = LiteLLMClient(retry=RetryPolicy(max_retries=2, base_s=0.01, max_delay_s=0.02),
                           timeout_s=20.0)
    settings = TrainSettings(steps=2, batch_size=4, proposals=2, seed=3,
                             limits=Limits(**limits))
    splits = Splits(optim_task.samples(optim_task.TRAIN), optim_task.samples(optim_task.VAL),
                    optim_task.samples(optim_task.TEST))

    async def run() -> TrainOutcome:
        opened = executor(plan, client) if executor is not None else None
        try:
            trainer = Trainer(plan, splits, client, settings, str(run_dir), bind(plan),
                              plan_hash="test", executor=opened)
            return await trainer.run()
        finally:
            if opened is not None:
                opened.close()

    return asyncio.run(run())


def _ray(address: str, workers: int = 2, base_dir: str = ".", **limits: Any) -> Any:
    from adf.scale.limits import ClusterLimits
    from adf.scale.ray_executor import RayExecutor, RaySettings
    from adf.scale.worker import ClientSettings

    def open_for(plan: Any, client: Any) -> Any:
        settings = RaySettings(address=address, workers=workers, limits=ClusterLimits(**limits),
                               client=ClientSettings(None, 8, 20.0), shard_size=2)
        return RayExecutor.open(settings, plan, base_dir, client)

    return open_for


def test_two_step_training_report_equals_the_default_executors(
    ray_head: str, tmp_path: Path,
) -> None:
    with FakeServer(optim_task.responder()) as server:
        here = _train(server, tmp_path / "here")
        calls_here = server.request_count
        there = _train(server, tmp_path / "ray", _ray(ray_head))
        assert server.request_count == 2 * calls_here  # no cache: the same calls again
    assert here.state.step == there.state.step == 2
    assert deterministic_view(there.report) == deterministic_view(here.report)


def test_max_calls_holds_when_workers_share_the_budget(ray_head: str, tmp_path: Path) -> None:
    with FakeServer(optim_task.responder()) as server:
        outcome = _train(server, tmp_path / "ray", _ray(ray_head), max_calls=30)
        assert server.request_count <= 30
    assert outcome.report["usage"]["requests"] <= 30
    assert outcome.stopped_by is not None and "calls budget reached" in outcome.stopped_by


def test_the_shared_rate_limit_holds_in_the_servers_log(ray_head: str, tmp_path: Path) -> None:
    per_window, window_s = 4, 1.0
    with FakeServer(task.answer, latency_s=0.02) as server:
        source = task.make_project(tmp_path / "proj", server.base_url, task.rows(40))
        plan = compile_file(str(source)).plan
        assert plan is not None
        samples = load_data(plan, str(source.parent / "data.jsonl")).samples
        client = LiteLLMClient()
        executor = _ray(ray_head, base_dir=str(source.parent), concurrency=4,
                        per_window=per_window, window_s=window_s)(plan, client)
        try:
            # the first pass warms the workers (their first model call imports litellm), so
            # the second measures the limit, not start-up delays between admission and arrival
            asyncio.run(evaluate(plan, samples[:8], client, executor=executor))
            server.reset()
            result = asyncio.run(evaluate(plan, samples[8:28], client, executor=executor))
        finally:
            executor.close()
        arrivals = sorted(server.arrivals)
        assert server.max_in_flight <= 4
    assert len(result.samples) == len(arrivals) == 20 and not result.errors()
    # any per_window+1 consecutive arrivals span at least a window, less the trip from the
    # admission to the server (bounded loosely: this machine is shared and loaded)
    spans = [arrivals[i + per_window] - arrivals[i] for i in range(len(arrivals) - per_window)]
    assert min(spans) >= window_s - 0.25
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) // per_window - 1) * window_s - 0.25


def test_a_killed_worker_loses_no_sample_and_counts_none_twice(
    ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    mark = Path(os.environ["ADF_TEST_RAY_KILL_MARK"])  # the workers' (see conftest)
    with FakeServer(task.answer) as server:
        source = task.make_project(tmp_path / "proj", server.base_url, task.rows(30, kill_at=17))
        here = _eval_json(source, "--no-cache", capsys=capsys)  # the driver has no mark: lives
        there = _eval_json(source, "--cache", "c.sqlite", "--executor", f"ray={ray_head}",
                           "--workers", "2", capsys=capsys)
    assert mark.exists()  # a worker really died
    assert [r["id"] for r in there["results"]] == [f"s{i}" for i in range(30)]
    assert [r["score"] for r in there["results"]] == [r["score"] for r in here["results"]]
    assert there["usage"]["calls"] == here["usage"]["calls"] == 30
    assert there["score"] == here["score"]


def test_ctrl_c_stops_the_cluster_work_and_keeps_the_checkpoint(
    ray_head: str, tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / "count.adf"
    source.write_text(optim_task.ADF_SOURCE.format(base="http://127.0.0.1:9/v1"), encoding="utf-8")
    optim_task.write_data(str(tmp_path / "data"))
    run = tmp_path / "run"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with FakeServer(optim_task.responder(), latency_s=0.05) as server:
        args = ["train", str(source), "--api-base", f"m={server.base_url}", "--seed", "3",
                "--steps", "4", "--out", str(run), "--cache", str(tmp_path / "c.sqlite"),
                "--quiet", "--executor", f"ray={ray_head}", "--workers", "2"]
        proc = subprocess.Popen([sys.executable, "-m", "adf.cli.main", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 240
        checkpoint = run / "checkpoint.json"
        while time.monotonic() < deadline and proc.poll() is None:
            if checkpoint.exists() and json.loads(checkpoint.read_text())["state"]["step"] >= 1:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "--resume" in out
        step = json.loads(checkpoint.read_text())["state"]["step"]
        assert step >= 1
        assert json.loads((run / "report.json").read_text())["status"].startswith("interrupted")
        resumed = subprocess.run([sys.executable, "-m", "adf.cli.main", *args, "--resume"],
                                 env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
    report = json.loads((run / "report.json").read_text())
    assert report["resumes"][0]["from_step"] == step
