"""SIGTERM and SIGHUP stop training like Ctrl-C: checkpoint, report, one line to resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import optim_task as task
import pytest
import rb_train as rb
from rb_train import make_project, train_args

from adf.testing.fake_server import FakeServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sent, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_termination_signals_keep_the_checkpoint_and_say_how_to_resume(
    tmp_path: Path, sent: signal.Signals, status: int
) -> None:
    source = make_project(tmp_path)
    run = tmp_path / "run"
    with FakeServer(task.responder(), latency_s=0.03) as server:
        proc = subprocess.Popen([*rb.ADFC, *train_args(source, server.base_url, run)],
                                env=rb.ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 120
        while rb.checkpoint_step(run) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(sent)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == status, err
        assert f"interrupted ({sent.name})" in out
        resume = [line for line in out.splitlines() if "--resume" in line]
        assert len(resume) == 1 and f"--api-base m={server.base_url}" in resume[0]
        assert "never awaited" not in err and "Traceback" not in err
        report = json.loads((run / "report.json").read_text())
        assert report["status"].startswith(f"interrupted ({sent.name})")
        words = resume[0][resume[0].index("adfc train"):].split()[1:]
        finished = subprocess.run([*rb.ADFC, *words], env=rb.ENV, capture_output=True,
                                  text=True, timeout=240)
        assert finished.returncode == 0, finished.stdout + finished.stderr
    assert json.loads((run / "report.json").read_text())["params"]["instruction"]["final"] \
        == task.BEST


def test_ctrl_c_before_the_first_checkpoint_offers_no_resume(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    run = tmp_path / "run"
    with FakeServer(task.responder(), latency_s=0.5) as server:
        proc = subprocess.Popen([*rb.ADFC, *train_args(source, server.base_url, run)],
                                env=rb.ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 60
        while server.request_count == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not (run / "checkpoint.json").exists()
    assert "before the first checkpoint: nothing to resume" in out
    assert "--resume" not in out
    assert "never awaited" not in err and "Traceback" not in err
