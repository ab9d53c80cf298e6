"""The workflow-call example trains on the fake server: `node pred = judge(opinion)` runs
the two steps of judge.adf, and feedback from this file's loss flows back through both
copied nodes to the first step's param, `judge.cue_instruction`, which training improves."""

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

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sst5_call"
CUE = "Terrible means very negative."


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "Say in a few plain words" in system:  # this file's gist: the sentence itself
        return text.removeprefix("Sentence: ")
    if "List the words" in system:  # the judge's first step: the cues, with a strength
        if "terrible" in text:
            return "terrible (very negative)" if CUE in system else "terrible (negative)"
        return "bad (negative)" if "bad" in text else "fine (positive)"
    if "Pick the label" in system:  # its second step: the label the cues name
        return text.rsplit("(", 1)[-1].rstrip(")")
    return "positive"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if "List the words" in current and CUE not in current else current
    return f"<reasoning>Terrible texts are very negative.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)

ROWS = [("a terrible film", "very negative"), ("a bad film", "negative"), ("a fine film", "positive"),
        ("terrible acting", "very negative"), ("bad acting", "negative"), ("fine acting", "positive")]


def test_feedback_reaches_the_first_step_of_the_called_workflow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("sst5_call.adf", "judge.adf"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    data = write_labelled(str(tmp_path), ROWS)
    with FakeServer(respond) as server:
        code = main(["backward", str(tmp_path / "sst5_call.adf"), "--data", data,
                     "--split", "train", "--model", "student=openai/fake",
                     "--api-base", f"student={server.base_url}", "--no-cache", "--json"])
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    # the two failed rows ("terrible ...") send feedback back through the call's nodes,
    # `pred` (the judge's second step) and `pred.cues` (its first), to the judge's params
    reached = sorted((f["param"], f["node"], f["sample"]) for f in shown["feedback"])
    assert reached == sorted(
        (param, node, sample) for sample in ("train0", "train3")
        for param, node in (("gist_instruction", "opinion"), ("judge.cue_instruction", "pred.cues"),
                            ("judge.decide_instruction", "pred")))


def test_training_improves_the_called_workflows_param(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_labelled(str(tmp_path), ROWS)
    for name in ("sst5_call.adf", "judge.adf"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    judge_before = (tmp_path / "judge.adf").read_text(encoding="utf-8")
    with FakeServer(respond) as server:
        code = main(train_args(str(tmp_path / "sst5_call.adf"), server.base_url, str(tmp_path), data=data, write=True))
    assert code == 0
    lock = json.loads((tmp_path / "sst5_call.adf.lock").read_text())
    assert CUE in lock["params"]["judge.cue_instruction"]["value"]
    assert (tmp_path / "judge.adf").read_text(encoding="utf-8") == judge_before
    plan = compile_file(str(tmp_path / "sst5_call.adf")).plan
    assert plan is not None
    applied = apply_lock_verbose(plan, str(tmp_path / "sst5_call.adf"))
    assert "judge.cue_instruction" in applied.applied and not applied.stale
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["scores"]["test_before"] == pytest.approx(4 / 6)
    assert report["scores"]["test_after"] == 1.0
