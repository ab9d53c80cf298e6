"""The SST-5 router example trains on the fake server: the rater the failing
sentences are routed to learns; the router reads a scripted polarity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from optim_task import current_value, responder, train_args, write_labelled

from adf.cli.main import main
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sst5_router" / "sst5_router.adf"
CUE = "Terrible means very negative."


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "negative, neutral, positive." in system and "Is its sentiment" in system:
        return "negative" if ("bad" in text or "terrible" in text) else "positive"
    if "very negative, negative" in system:
        return "very negative" if "terrible" in text and CUE in system else "negative"
    return "very positive" if "great" in text else "positive"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if "The sentence is negative" in current and CUE not in current else current
    return f"<reasoning>Terrible sentences are very negative.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)


ROWS = [("a terrible film", "very negative"), ("a bad film", "negative"), ("a great film", "very positive"),
        ("a fine film", "positive"), ("terrible acting", "very negative"), ("bad acting", "negative")]


def test_router_example_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_labelled(str(tmp_path), ROWS)
    source = tmp_path / "sst5_router.adf"
    source.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    with FakeServer(respond) as server:
        code = main(train_args(str(source), server.base_url, str(tmp_path), data=data))
    assert code == 0
    lock = json.loads((tmp_path / "sst5_router.adf.lock").read_text())
    assert CUE in lock["params"]["rate_negative"]["value"]
    # the positive rater was never on the path of a failing sample
    assert "rate_positive" not in lock["params"] or CUE not in lock["params"]["rate_positive"]["value"]
