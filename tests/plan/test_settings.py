"""One settings record: the CLI, the Python API, the trainer and the forecast read `TrainSettings`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adf.cli.main import main
from adf.plan.settings import DataSettings, Limits, TrainSettings, problem
from adf.workflow.training import TrainOptions

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trec" / "trec.adf"


def test_flat_keywords_fill_the_records() -> None:
    options = TrainOptions.of(steps=3, batch_size=2, max_calls=40, data="d", val_limit=5,
                              strategy="pool", out="runs/x", use_lock=False)
    assert options.settings == TrainSettings(steps=3, batch_size=2, strategy="pool",
                                             limits=Limits(max_calls=40))
    assert options.data == DataSettings(folder="d", val_limit=5)
    assert (options.out, options.use_lock) == ("runs/x", False)
    with pytest.raises(TypeError, match="'stepz'"):
        TrainOptions.of(stepz=2)


def test_max_steps_caps_the_run_steps() -> None:
    assert TrainSettings(steps=5).run_steps == 5
    assert TrainSettings(steps=5, limits=Limits(max_steps=2)).run_steps == 2


@pytest.mark.parametrize("settings, data, message", [
    (TrainSettings(steps=0), None, "--steps must be at least 1"),
    # the forecast walked 10**23 steps (adfc train --dry-run never returned)
    (TrainSettings(steps=10**23), None, "--steps must be at most 1,000,000"),
    (TrainSettings(proposals=10**23), None, "--proposals must be at most 1,000,000"),
    (TrainSettings(fill_batches=10**23), None, "--fill-batches must be at most 1,000,000"),
    (TrainSettings(threshold=1.5), None, "--threshold must be between 0 and 1"),
    (TrainSettings(limits=Limits(max_usd=-1.0)), None, "--max-usd must not be negative"),
    (TrainSettings(), DataSettings(test_limit=-1), "--test-limit must not be negative"),
    (TrainSettings(strategy="greedy"), None, "--strategy must be one of"),  # type: ignore[arg-type]
])
def test_problem_names_the_flag(settings: TrainSettings, data: DataSettings | None,
                                message: str) -> None:
    found = problem(settings, data)
    assert found is not None and found.startswith(message)
    assert problem(TrainSettings(), DataSettings()) is None


def test_cost_takes_the_training_flags_of_train(capsys: pytest.CaptureFixture[str]) -> None:
    def total(*flags: str) -> int:
        assert main(["cost", str(EXAMPLE), "--format", "json", "--no-prices", "--no-cache",
                     *flags]) == 0
        calls: int = json.loads(capsys.readouterr().out)["total"]["calls"]
        return calls

    four = total("--steps", "4", "--batch-size", "4", "--val-limit", "10")
    assert total("--steps", "4", "--batch", "4", "--val-size", "10") == four  # other names
    assert total("--steps", "4", "--batch-size", "4", "--val-limit", "10",
                 "--max-steps", "1") < four  # the budget caps the steps, as in a run
    assert main(["cost", str(EXAMPLE), "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "--steps must be at least 1" in err and "Traceback" not in err
