"""The public Python API: `adf.load`, typed calls, batch, await, trace/usage, overrides, cache."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from api_helpers import TICKET, answer, workflow_copy

import adf
from adf.testing.fake_server import FakeReply, FakeServer, Fault, FaultPlan


def test_import_adf_is_cheap_and_litellm_waits_for_the_first_call(tmp_path: Path) -> None:
    source = workflow_copy(tmp_path)
    code = (
        "import sys, adf\n"
        "heavy = [m for m in ('litellm', 'adf.runtime.engine', 'adf.compiler.pipeline', 'lark') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        f"wf = adf.load({str(source)!r})\n"
        "assert 'litellm' not in sys.modules\n"
        "print(wf.signature.inputs[1][0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "priority"


def test_call_returns_typed_outputs_usage_and_trace(tmp_path: Path) -> None:
    with FakeServer(answer) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False)
        result = wf(**TICKET)
    assert result.ok and result.output == {"team": "db", "score": result.output["score"]}
    assert isinstance(result["pred"]["score"], int)
    assert result.usage.calls == 1 and result.usage.prompt_tokens > 0
    assert result.cost_usd is None  # no price is known for the fake model
    (node,) = result.trace
    assert node.kind == "llm" and "slow query" in node.messages[-1].content
    assert result.trace_json()[0]["call"]["model"] == "openai/test"
    assert [name for name, _ in wf.signature.outputs] == ["pred"]


def test_inputs_are_checked_before_any_model_call_and_the_error_names_the_field(
    tmp_path: Path,
) -> None:
    with FakeServer(answer) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False)
        with pytest.raises(adf.InputError) as caught:
            wf(ticket={"title": "x", "tags": ["ok", 3]}, priority="urgent")
        with pytest.raises(adf.InputError) as missing:
            wf(ticket={"title": "x", "tags": []})
        with pytest.raises(adf.InputError) as extra:
            wf(**TICKET, colour="red")
        assert server.request_count == 0
    assert caught.value.field == "ticket.tags[1]"
    assert [p.location() for p in caught.value.problems] == ["ticket.tags[1]", "priority"]
    assert "expected str, found int 3" in str(caught.value)
    assert "expected enum{low, high}" in str(caught.value)
    assert missing.value.field == "priority" and "missing input" in str(missing.value)
    assert extra.value.field == "colour" and "unknown input" in str(extra.value)


def test_batch_caps_concurrency_reports_progress_and_keeps_order(tmp_path: Path) -> None:
    rows = [{"ticket": {"title": f"t{i}", "tags": ["sql"] if i % 2 else []},
             "priority": "low"} for i in range(12)]
    progress: list[tuple[int, int]] = []
    with FakeServer(answer, latency_s=0.05) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False)
        results = wf.batch(rows, concurrency=3, on_progress=lambda d, t: progress.append((d, t)))
        assert server.max_in_flight <= 3
    assert [r.output["team"] for r in results] == ["web", "db"] * 6
    assert progress == [(i, 12) for i in range(1, 13)]
    with pytest.raises(adf.InputError) as caught:
        wf.batch([TICKET, {"ticket": TICKET["ticket"], "priority": 1}])
    assert caught.value.field == "[1].priority"


def test_await_call_and_the_sync_call_inside_a_loop_says_to_await(tmp_path: Path) -> None:
    with FakeServer(answer) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False)

        async def inside() -> str:
            result = await wf.acall(**TICKET)
            with pytest.raises(RuntimeError, match=r"await workflow\.acall"):
                wf(**TICKET)
            team: str = result.output["team"]
            return team

        assert asyncio.run(inside()) == "db"


def test_model_failure_raises_call_error_with_code_and_trace(tmp_path: Path) -> None:
    with FakeServer(lambda _r: FakeReply("upstream broke", status=500)) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False, retries=0)
        with pytest.raises(adf.CallError) as caught:
            wf(**TICKET)
        (failed,) = wf.batch([TICKET])
    assert caught.value.code == "model_failed" and caught.value.node == "pred"
    assert caught.value.result is not None and caught.value.result.usage.failures == 1
    assert failed.error is not None and failed.error.code == "model_failed"


def test_model_timeout_has_its_own_code(tmp_path: Path) -> None:
    faults = FaultPlan(at={0: Fault("timeout", delay_s=3.0)})
    with FakeServer(answer, faults=faults) as server:
        wf = adf.load(str(workflow_copy(tmp_path)), api_bases={"m": server.base_url},
                      cache=False, retries=0, timeout=0.5)
        (result,) = wf.batch([TICKET])
    assert result.error is not None and result.error.code == "model_timeout"


def test_overrides_and_cache_settings_in_code(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(workflow_copy(tmp_path))
    cache = str(tmp_path / "replies.sqlite")
    with FakeServer(answer) as one, FakeServer(answer) as two:
        monkeypatch.setenv("ADF_API_BASE_M", one.base_url)
        wf = adf.load(source, cache=cache)
        assert wf(**TICKET).usage.cache_hits == 0
        assert wf(**TICKET).usage.cache_hits == 1  # the second call is answered by the cache
        other = wf.configure(api_bases={"m": two.base_url}, cache=False)
        assert other(**TICKET).usage.cache_hits == 0
        assert (one.request_count, two.request_count) == (1, 1)
        renamed = wf.configure(models={"m": "openai/other"}, cache=False)
        assert renamed(**TICKET).trace[0].call is not None
        assert one.requests[-1]["model"] == "other"


def test_load_failures_are_workflow_errors(tmp_path: Path) -> None:
    with pytest.raises(adf.WorkflowError) as missing:
        adf.load(str(tmp_path / "nope.adf"))
    assert missing.value.status == 2 and "no such file" in missing.value.message
    broken = tmp_path / "broken.adf"
    broken.write_text("input q: str\nnode a = nope(q)\n", encoding="utf-8")
    with pytest.raises(adf.WorkflowError) as failed:
        adf.load(str(broken))
    assert failed.value.status == 1 and "error" in failed.value.details


def test_the_local_models_server_starts_once_for_many_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adf.local import server as local

    starts: list[str] = []
    real_start = local.LocalServer.start

    def counted(self: local.LocalServer) -> None:
        starts.append("start")
        real_start(self)

    monkeypatch.setattr(local.LocalServer, "start", counted)
    source = workflow_copy(tmp_path)
    source.write_text(source.read_text().replace('"openai/test"', '"local"'))
    with FakeServer(answer) as server:
        monkeypatch.setenv("ADF_LOCAL_API_BASE", server.base_url)  # "local" answered here
        with adf.load(str(source), cache=False) as wf:
            teams = [wf(**TICKET).output["team"] for _ in range(3)]
            assert server.request_count == 3
        assert starts == ["start"]  # held across the three calls, released by `with`
        adf.load(str(source), cache=False)(**TICKET)
    assert teams == ["db"] * 3 and starts == ["start", "start"]
