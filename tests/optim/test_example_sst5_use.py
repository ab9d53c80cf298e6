"""The `use` example trains on the fake server: feedback from the loss reaches the
param of the used file (`rater.instruction`), and the lock file names it so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from optim_task import current_value, responder, train_args, write_labelled

from adf.cli.main import main
from adf.compiler.pipeline import compile_file
from adf.optim.lockfile import apply_lock_verbose
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sst5_use"
CUE = "Terrible means very negative."


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "Say in a few plain words" in system:  # the gist: the sentence itself
        return text.removeprefix("Sentence: ")
    if "very negative, negative" in system:  # the used file's rater
        if "terrible" in text:
            return "very negative" if CUE in system else "negative"
        return "negative" if "bad" in text else "positive"
    return "positive"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if "judge the sentiment" in current and CUE not in current else current
    return f"<reasoning>Terrible texts are very negative.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)

ROWS = [("a terrible film", "very negative"), ("a bad film", "negative"), ("a fine film", "positive"),
        ("terrible acting", "very negative"), ("bad acting", "negative"), ("fine acting", "positive")]


def test_use_example_trains_the_used_files_param(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_labelled(str(tmp_path), ROWS)
    for name in ("sst5_use.adf", "rater.adf"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    rater_before = (tmp_path / "rater.adf").read_text(encoding="utf-8")
    with FakeServer(respond) as server:
        code = main(train_args(str(tmp_path / "sst5_use.adf"), server.base_url, str(tmp_path), data=data, write=True))
    assert code == 0
    lock = json.loads((tmp_path / "sst5_use.adf.lock").read_text())
    assert CUE in lock["params"]["rater.instruction"]["value"]
    # the used file is never rewritten: its trained value lives in the lock file
    assert (tmp_path / "rater.adf").read_text(encoding="utf-8") == rater_before
    # the next compile of the unchanged files finds the trained value again by its name
    plan = compile_file(str(tmp_path / "sst5_use.adf")).plan
    assert plan is not None
    applied = apply_lock_verbose(plan, str(tmp_path / "sst5_use.adf"))
    assert "rater.instruction" in applied.applied and not applied.stale
    assert CUE in applied.plan.param("rater.instruction").value
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["scores"]["test_after"] > report["scores"]["test_before"]
