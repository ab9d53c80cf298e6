"""A shard as a worker runs it, the code shipment and the CLI options, all without Ray."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import scale_task as task

from adf.cli.main import main
from adf.compiler.pipeline import compile_file
from adf.llm.client import LiteLLMClient
from adf.llm.usage import Usage
from adf.plan.schema import Plan
from adf.runtime.bindings import bind
from adf.runtime.data import load_data
from adf.runtime.engine import evaluate
from adf.runtime.executor import ExecutorSpec, SpecError
from adf.scale.limits import Allowance, ClusterLimits, GateService
from adf.scale.shipping import ShippingError, plan_shipment
from adf.scale.worker import ClientSettings, ShardJob, run_shard
from adf.testing.fake_server import FakeServer


def _project(tmp_path: Path, url: str, count: int = 12) -> tuple[Plan, str]:
    source = task.make_project(tmp_path / "proj", url, task.rows(count))
    compiled = compile_file(str(source))
    assert compiled.plan is not None, compiled.diagnostics
    return compiled.plan, str(source.parent)


def test_a_shard_gives_what_the_default_executor_gives_and_a_ledger_per_call(
    tmp_path: Path,
) -> None:
    with FakeServer(task.answer) as server:
        plan, folder = _project(tmp_path, server.base_url)
        samples = load_data(plan, f"{folder}/data.jsonl").samples
        bindings = bind(plan, folder)
        here = asyncio.run(evaluate(plan, samples, LiteLLMClient(), bindings=bindings))
        job = ShardJob(0, samples, (), ClientSettings(str(tmp_path / "cache.sqlite")))
        server.reset()
        service = GateService(ClusterLimits(concurrency=2))
        cold = asyncio.run(run_shard(plan, bindings, job, service))
        warm = asyncio.run(run_shard(plan, bindings, job, service))
        assert server.max_in_flight <= 2
    assert [r.score for r in cold.results] == [r.score for r in here.samples]
    assert [r.sample.id for r in cold.results] == [s.id for s in samples]
    assert len(cold.traces) == len(samples) and cold.refused == 0
    assert all(t.requests == 1 and not t.cached for t in cold.traces)
    assert all(t.requests == 0 and t.cached for t in warm.traces)  # the shared cache


def test_a_budget_refusal_fails_the_sample_as_in_process_and_is_counted(
    tmp_path: Path,
) -> None:
    with FakeServer(task.answer) as server:
        plan, folder = _project(tmp_path, server.base_url, count=6)
        samples = load_data(plan, f"{folder}/data.jsonl").samples
        service = GateService(ClusterLimits(concurrency=1))
        asyncio.run(service.open(Allowance(requests=4)))
        job = ShardJob(0, samples, (), ClientSettings(None), abort_after=None)
        outcome = asyncio.run(run_shard(plan, bind(plan, folder), job, service))
        assert server.request_count == 4
    assert outcome.refused == 2
    assert sum(t.requests for t in outcome.traces) == 4
    failed = [r for r in outcome.results if r.call_failed]
    assert len(failed) == 2
    # in the driver's meter, the shard counts what the budgeted client would have
    from adf.optim.budget import Meter
    from adf.plan.settings import Limits
    from adf.scale.worker import ShardOutcome

    meter = Meter(Limits(max_calls=4))
    for trace in outcome.traces:
        meter.absorb(trace.purpose, Usage.of_trace(trace))
    assert meter.total().requests == 4 and meter.total().failures == 2
    assert isinstance(outcome, ShardOutcome)


def test_modules_next_to_the_source_are_shipped_others_must_be_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan, folder = _project(tmp_path, "http://127.0.0.1:9/v1")
    shipment = plan_shipment(plan, folder, environ={})
    assert shipment.working_dir == folder and shipment.shipped == ("helpers",)
    assert shipment.runtime_env()["working_dir"] == folder
    (Path(folder) / "helpers.py").unlink()
    monkeypatch.delitem(sys.modules, "helpers", raising=False)  # imported by another test
    with pytest.raises(ShippingError, match="'helpers' is neither next to the source"):
        plan_shipment(plan, folder, environ={})


def test_executor_spec_parses_local_ray_and_an_address() -> None:
    assert ExecutorSpec.parse("local").is_local
    assert ExecutorSpec.parse("ray") == ExecutorSpec("ray", None)
    assert ExecutorSpec.parse("ray=auto") == ExecutorSpec("ray", "auto")
    for bad in ("dask", "ray=", "local=x"):
        with pytest.raises(SpecError):
            ExecutorSpec.parse(bad)


def test_cli_rejects_ray_options_without_ray_and_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    source = task.make_project(tmp_path / "proj", "http://127.0.0.1:9/v1", task.rows(3))
    data = str(source.parent / "data.jsonl")
    assert main(["eval", str(source), "--data", data, "--workers", "2"]) == 2
    assert "--workers needs --executor ray" in capsys.readouterr().err
    assert main(["train", str(source), "--rpm", "60"]) == 2
    assert "--rpm needs --executor ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # the extra is not installed
    monkeypatch.delitem(sys.modules, "adf.scale.ray_executor", raising=False)
    assert main(["eval", str(source), "--data", data, "--executor", "ray"]) == 2
    assert "pip install 'adf[ray]'" in capsys.readouterr().err
