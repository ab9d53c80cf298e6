"""The forecast learns from the reply cache: a finished run's tokens and rates size the next one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optim_task as task
import pytest
from test_cli_train import adfc_args, make_project

from adf.cli.main import main
from adf.llm.cache import ReplyCache
from adf.testing.fake_server import FakeServer

_FORECAST = re.compile(r"forecast: about (\d+) model calls, (\d+) tokens")


def _dry_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, int, str]:
    assert main([*argv, "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    found = _FORECAST.search(out)
    assert found is not None, out
    return int(found.group(1)), int(found.group(2)), out


def test_a_finished_run_calibrates_the_next_forecast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        first = adfc_args(source, server.base_url, tmp_path / "run1", "--steps", "2", "--no-lock")
        cold_calls, cold_tokens, cold_text = _dry_run(first, capsys)
        assert "kinds of call" not in cold_text  # an empty cache knows nothing yet
        assert main(first) == 0
        capsys.readouterr()
        report = json.loads((tmp_path / "run1" / "report.json").read_text())
        again = adfc_args(source, server.base_url, tmp_path / "run2", "--steps", "2",
                          "--no-lock", "--cache", str(tmp_path / "run1.sqlite"))
        warm_calls, warm_tokens, warm_text = _dry_run(again, capsys)
    assert "kinds of call (model, node, purpose) from the reply cache's history" in warm_text
    assert "calibrated by the reply cache's history" in warm_text
    actual = report["usage"]
    # the cold forecast counts replies at max_tokens (none declared here: the default);
    # the warm one knows the replies this model gave, and the gate rates of the first run
    assert abs(warm_tokens - actual["tokens"]) < abs(cold_tokens - actual["tokens"])
    assert warm_calls != cold_calls  # the rates measured replace the priors
    cache = ReplyCache(tmp_path / "run1.sqlite")
    rates = cache.rates("openai/fake")
    cache.close()
    # no demos parameter: no evidence of how full demo sets get on this model
    assert set(rates) == {"fail_rate", "screen_pass", "pass_minibatch", "val_share", "win_share",
                          "fail_after"}
    # `adfc cost` reads the same history and gives the same forecast
    assert main(["cost", str(source), "--data", str(tmp_path / "proj" / "data"), "--steps", "2",
                 "--format", "json", "--no-prices", "--cache", str(tmp_path / "run1.sqlite"),
                 "--val-size", str(report["data"]["val"]),
                 "--test-size", str(report["data"]["test"])]) == 0
    cost = json.loads(capsys.readouterr().out)["total"]
    assert abs(cost["calls"] - warm_calls) <= 0.05 * warm_calls
    assert abs(cost["tokens"] - warm_tokens) <= 0.05 * warm_tokens


def test_resume_forecasts_with_the_runs_own_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        base = adfc_args(source, server.base_url, tmp_path / "run", "--no-lock", "--no-cache")
        assert main([*base, "--steps", "1"]) == 0
        capsys.readouterr()
        _, _, fresh = _dry_run([*base, "--steps", "2", "--out", str(tmp_path / "other")], capsys)
        _, _, resumed = _dry_run([*base, "--steps", "2", "--resume"], capsys)
        assert server.request_count > 0
    assert "calibrated by the run's finished steps" in resumed
    assert "calibrated" not in fresh


def test_a_resumed_run_forecasts_what_it_spent_plus_the_rest(tmp_path: Path) -> None:
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        base = adfc_args(source, server.base_url, tmp_path / "run", "--no-lock", "--no-cache")
        assert main([*base, "--steps", "1"]) == 0
        first = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
        assert main([*base, "--steps", "3", "--resume", "--force"]) == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    forecast, used = report["estimate"], report["usage"]
    spent = first["usage"]["calls"]
    assert spent < used["calls"]
    # the first step's calls count as they were (by role too), the two steps left are forecast
    assert forecast["calls_low"] > spent
    for role, usage in first["usage"]["by_purpose"].items():
        assert forecast["by_role"].get(role, {"calls": 0})["calls"] >= usage["calls"]
    assert forecast["calls_low"] <= used["calls"] <= forecast["calls_high"]


def test_resuming_a_finished_run_forecasts_only_what_it_spent(tmp_path: Path) -> None:
    # nothing is left to run: no steps, and the test split was scored after training
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        base = adfc_args(source, server.base_url, tmp_path / "run", "--no-lock", "--no-cache",
                         "--steps", "2")
        assert main(base) == 0
        first = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
        asked = server.request_count
        assert main([*base, "--resume", "--force"]) == 0
        assert server.request_count == asked
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    forecast = report["estimate"]
    assert report["usage"]["calls"] == first["usage"]["calls"]
    assert forecast["calls_low"] <= report["usage"]["calls"] <= forecast["calls_high"]
    assert forecast["calls"] == first["usage"]["calls"]


def test_a_dry_run_refuses_to_resume_another_programs_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        base = adfc_args(source, server.base_url, tmp_path / "run", "--no-lock", "--no-cache",
                         "--steps", "1")
        assert main(base) == 0
        other = tmp_path / "proj" / "other.adf"
        other.write_text(source.read_text(encoding="utf-8").replace(
            "Answer the question.", "Answer the question briefly."), encoding="utf-8")
        capsys.readouterr()
        code = main([*adfc_args(other, server.base_url, tmp_path / "run", "--no-lock",
                                "--no-cache", "--steps", "2"), "--resume", "--dry-run"])
    err = capsys.readouterr().err
    assert code != 0 and "cannot resume" in err and "different program" in err
