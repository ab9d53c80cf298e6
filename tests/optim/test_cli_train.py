"""`adfc train` end to end on the fake server: lock file, --write, budgets, kill -9 and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optim_task as task
import pytest

from adf.cli.main import main
from adf.compiler.pipeline import compile_file
from adf.optim.lockfile import apply_lock
from adf.optim.report import deterministic_view
from adf.testing.fake_server import FakeServer


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "count.adf"
    source.write_text(task.ADF_SOURCE.format(base="http://127.0.0.1:9/v1"), encoding="utf-8")
    task.write_data(str(folder / "data"))
    return source


def adfc_args(source: Path, url: str, out: Path, *extra: str) -> list[str]:
    return ["train", str(source), "--api-base", f"m={url}", "--seed", "3", "--steps", "4",
            "--out", str(out), "--cache", str(out.parent / f"{out.name}.sqlite"), "--quiet",
            *extra]


def test_train_writes_lock_and_write_keeps_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = make_project(tmp_path / "proj")
    with FakeServer(task.responder()) as server:
        assert main(adfc_args(source, server.base_url, tmp_path / "run1")) == 0
        lock = json.loads((tmp_path / "proj" / "count.adf.lock").read_text())
        assert lock["params"]["instruction"]["value"] == task.BEST
        assert lock["params"]["instruction"]["base"] == task.INITIAL
        # run/eval pick the lock up through apply_lock
        plan = compile_file(str(source)).plan
        assert plan is not None
        assert apply_lock(plan, str(source)).param("instruction").value == task.BEST
        assert "answer_format" not in lock["params"]  # frozen params are never locked
        before = source.read_text()
        assert main(adfc_args(source, server.base_url, tmp_path / "run2", "--write")) == 0
    after = source.read_text()
    assert f'= "{task.BEST}"' in after
    assert "# the instruction the optimizer improves" in after
    assert "# the model's reply" in after
    assert after.replace(task.BEST, task.INITIAL) == before
    fresh = compile_file(str(source)).plan
    assert fresh is not None and fresh.param("instruction").value == task.BEST


def test_dry_run_spends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)
    with FakeServer(task.responder()) as server:
        assert main(adfc_args(source, server.base_url, tmp_path / "run", "--dry-run")) == 0
        assert server.request_count == 0
    out = capsys.readouterr().out
    assert "model calls" in out and "forecast" in out
    assert not (tmp_path / "run").exists()


def test_dry_run_warns_when_the_forecast_exceeds_max_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    with FakeServer(task.responder()) as server:
        args = adfc_args(source, server.base_url, tmp_path / "run", "--dry-run", "--max-calls", "3")
        assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "is above --max-calls 3" in out and "which does not fit" in out


def test_max_calls_flag_is_never_exceeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)
    with FakeServer(task.responder()) as server:
        status = main(adfc_args(source, server.base_url, tmp_path / "run", "--max-calls", "30",
                                "--no-cache"))
        made = server.request_count
    assert status == 0
    assert made <= 30
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["usage"]["calls"] == made
    assert report["status"].startswith("stopped") and "calls budget" in report["status"]
    assert "budget" in capsys.readouterr().out


def _checkpoint_step(run: Path) -> int:
    try:
        body = json.loads((run / "checkpoint.json").read_text())
    except (OSError, ValueError):
        return -1
    state = body["state"]
    return int(state["step"]) if state["phase"] == "steps" else -1


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    full_src = make_project(tmp_path / "full")
    cut_src = make_project(tmp_path / "cut")
    command = [sys.executable, "-m", "adf.cli.main"]
    with FakeServer(task.responder(), latency_s=0.03) as server:
        full = subprocess.run(command + adfc_args(full_src, server.base_url, tmp_path / "full" / "run"),
                              env=env, capture_output=True, text=True, timeout=240)
        assert full.returncode == 0, full.stderr
        cut_run = tmp_path / "cut" / "run"
        proc = subprocess.Popen(command + adfc_args(cut_src, server.base_url, cut_run),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _checkpoint_step(cut_run) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        killed_at = _checkpoint_step(cut_run)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert killed_at == 2, "the run finished before it could be killed"
        resumed = subprocess.run(
            command + adfc_args(cut_src, server.base_url, cut_run, "--resume"),
            env=env, capture_output=True, text=True, timeout=240)
        assert resumed.returncode == 0, resumed.stderr
    full_report = json.loads((tmp_path / "full" / "run" / "report.json").read_text())
    cut_report = json.loads((cut_run / "report.json").read_text())
    assert cut_report["resumes"][0]["from_step"] >= killed_at  # at most one step redone
    assert cut_report["params"] == full_report["params"]
    assert deterministic_view(cut_report) == deterministic_view(full_report)
    full_lock = json.loads((tmp_path / "full" / "count.adf.lock").read_text())
    cut_lock = json.loads((tmp_path / "cut" / "count.adf.lock").read_text())
    assert full_lock["params"] == cut_lock["params"]


@pytest.mark.slow
def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(tmp_path: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    source = make_project(tmp_path)
    run = tmp_path / "run"
    with FakeServer(task.responder(), latency_s=0.03) as server:
        proc = subprocess.Popen([sys.executable, "-m", "adf.cli.main",
                                 *adfc_args(source, server.base_url, run)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while _checkpoint_step(run) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in out
    report = json.loads((run / "report.json").read_text())
    assert report["status"].startswith("interrupted")
    body = json.loads((run / "checkpoint.json").read_text())
    assert body["state"]["step"] >= 1


def test_bad_input_gives_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tmp_path / "missing.adf")]) == 2
    source = make_project(tmp_path)
    assert main(["train", str(source), "--data", str(tmp_path / "nowhere")]) == 2
    assert main(["train", str(source), "--resume", "--out", str(tmp_path / "none")]) == 2
    assert main(["train", str(source), "--steps", "0"]) == 2
    broken = tmp_path / "broken.adf"
    broken.write_text("param x: prompt = \n")
    assert main(["train", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no such file" in err
