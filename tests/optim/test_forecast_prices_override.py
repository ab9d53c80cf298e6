"""The training forecast prices the model a run will call, `--model` overrides applied.

A workflow declared on the free local model and run with `--model
student=openai/gpt-4o-mini` must be forecast at gpt-4o-mini's price, not at $0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adf.cli.main import main
from adf.workflow.models import RunOptions
from adf.workflow.training import TrainOptions, prepare_training

TREC = str(Path(__file__).resolve().parents[2] / "examples" / "trec" / "trec.adf")


def _dollars(*models: str) -> float | None:
    options = TrainOptions.of(steps=1, train_limit=4, val_limit=4, test_limit=4, use_lock=False)
    prepared = prepare_training(TREC, options, RunOptions(models=models, use_cache=False))
    return prepared.forecast.dollars


def test_the_declared_local_model_is_free() -> None:
    assert _dollars() == 0.0


def test_an_overridden_model_is_priced_as_itself() -> None:
    dollars = _dollars("student=openai/gpt-4o-mini")
    assert dollars is not None and dollars > 0.0


def test_an_unpriced_override_gives_no_dollar_figure() -> None:
    assert _dollars("student=openai/no-such-model") is None


def test_dry_run_prints_the_overrides_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", TREC, "--model", "student=openai/gpt-4o-mini", "--dry-run", "--no-lock",
            "--no-cache", "--steps", "1", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "about $0.0000" not in out and "about $0.0" in out
