"""The forecast against real training runs of two examples on the hash-answering fake model.

Each example is trained twice with one reply cache (seed 0 on an empty cache, seed 1 after
it), as `bench/estimate_accuracy.py` does for every example: the forecast each run kept in
its report is within 25% of what the run used, and its range holds the actual figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_API_KEY", "fake")

from adf.cli.main import main
from adf.testing.fake_server import FakeServer
from adf.testing.hashmodel import respond

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def train(folder: Path, program: str, url: str, seed: int, tmp: Path) -> dict[str, Any]:
    out = tmp / f"run{seed}"
    argv = ["train", str(folder / program), "--steps", "2", "--batch-size", "4",
            "--proposals", "2", "--demo-proposals", "1", "--seed", str(seed),
            "--train-limit", "24", "--val-limit", "12", "--test-limit", "8", "--out", str(out),
            "--no-lock", "--force", "--quiet", "--cache", str(tmp / "cache.sqlite"),
            "--model", "student=openai/gpt-4o-mini", "--api-base", f"student={url}"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize(("example", "program"), [("gsm8k", "gsm8k.adf"), ("sst5", "sst5.adf")])
def test_forecast_within_a_quarter_of_the_run(example: str, program: str,
                                              tmp_path: Path) -> None:
    folder = tmp_path / example
    shutil.copytree(EXAMPLES / example, folder)
    with FakeServer(respond) as server:
        cold = train(folder, program, server.base_url, 0, tmp_path)
        warm = train(folder, program, server.base_url, 1, tmp_path)
    for report in (cold, warm):
        forecast, used = report["estimate"], report["usage"]
        assert abs(forecast["calls"] / used["calls"] - 1) <= 0.25
        assert forecast["calls_low"] <= used["calls"] <= forecast["calls_high"]
        assert forecast["tokens_low"] <= used["tokens"] <= forecast["tokens_high"]
    # cold, the tokens count free-text replies at max_tokens (a bound); warm, the history
    # of the first run sizes every call
    assert abs(warm["estimate"]["tokens"] / warm["usage"]["tokens"] - 1) <= 0.25
    assert "calibrated by the reply cache's history" in " ".join(
        warm["estimate"]["assumptions"])
