"""`adfc train` and `adfc cost` flags for the strategy, fill batches and the minibatch gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optim_task as task
import pytest
from test_cli_train import adfc_args, make_project

from adf.cli.main import main
from adf.testing.fake_server import FakeServer


def _forecast(capsys: pytest.CaptureFixture[str], source: Path, url: str, out: Path,
              *flags: str) -> int:
    assert main(adfc_args(source, url, out, "--dry-run", *flags)) == 0
    text = capsys.readouterr().out
    found = re.search(r"about (\d+) model calls", text)
    assert found is not None, text
    return int(found.group(1))


def test_dry_run_counts_fill_batches_and_the_strict_gate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)
    with FakeServer(task.responder()) as server:
        run = tmp_path / "run"
        base = _forecast(capsys, source, server.base_url, run)
        assert _forecast(capsys, source, server.base_url, run, "--fill-batches", "0") < base
        assert _forecast(capsys, source, server.base_url, run, "--fill-batches", "3") > base
        assert _forecast(capsys, source, server.base_url, run, "--minibatch-strict") < base
        pool = _forecast(capsys, source, server.base_url, run, "--strategy", "pool",
                         "--candidates", "2")
        assert pool == base  # one prompt: the pool adds no call a step
        assert server.request_count == 0


def test_cost_takes_the_same_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)

    def calls(*flags: str) -> int:
        assert main(["cost", str(source), "--format", "json", "--no-prices", *flags]) == 0
        return int(json.loads(capsys.readouterr().out)["total"]["calls"])

    base = calls()
    assert calls("--fill-batches", "0") < base < calls("--fill-batches", "2")
    assert calls("--minibatch-strict") < base
    assert calls("--strategy", "sequential") == base  # one learning prompt


def test_a_pool_run_from_the_command_line_keeps_candidates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)
    out = tmp_path / "run"
    with FakeServer(task.responder()) as server:
        args = adfc_args(source, server.base_url, out, "--strategy", "pool", "--candidates", "3",
                         "--fill-batches", "0", "--minibatch-strict", "--steps", "2")
        assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    settings = report["settings"]
    assert (settings["strategy"], settings["candidates"], settings["fill_batches"],
            settings["minibatch_strict"]) == ("pool", 3, 0, True)
    state = json.loads((out / "checkpoint.json").read_text())["state"]
    assert 1 <= len(state["candidates"]["members"]) <= 3


@pytest.mark.parametrize("flags, message", [
    (("--fill-batches", "-1"), "--fill-batches must not be negative"),
    (("--candidates", "0"), "--candidates must be at least 1"),
    (("--proposals", "-1"), "--proposals must not be negative"),  # 0: only demo sets train
])
def test_bad_values_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        flags: tuple[str, ...], message: str) -> None:
    source = make_project(tmp_path)
    assert main(["train", str(source), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unknown_strategy_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "x.adf", "--strategy", "greedy"]) == 2
    assert "invalid choice: 'greedy'" in capsys.readouterr().err
