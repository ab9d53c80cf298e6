"""`adfc cost` and `adfc train --dry-run` give one forecast: the same estimator, the same settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from adf.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROGRAMS = sorted(p for p in EXAMPLES.glob("*/*.adf"))
_FORECAST = re.compile(r"forecast: about (\d+) model calls, (\d+) tokens")


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.parent.name)
def test_cost_and_dry_run_agree(program: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = program.parent / "data"
    settings = ["--steps", "2", "--proposals", "2", "--demo-proposals", "1"]
    assert main(["cost", str(program), "--data", str(data), "--batch", "4", "--format", "json",
                 "--no-prices", "--no-cache", *settings]) == 0
    cost = json.loads(capsys.readouterr().out)["total"]
    assert main(["train", str(program), "--data", str(data), "--batch-size", "4", "--dry-run",
                 "--no-cache", *settings]) == 0
    found = _FORECAST.search(" ".join(capsys.readouterr().out.split()))
    assert found is not None
    calls, tokens = int(found.group(1)), int(found.group(2))
    assert cost["calls"] > 0 and cost["tokens"] > 0
    assert abs(calls - cost["calls"]) <= 0.05 * cost["calls"], (calls, cost["calls"])
    assert abs(tokens - cost["tokens"]) <= 0.05 * cost["tokens"], (tokens, cost["tokens"])
