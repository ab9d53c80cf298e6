"""Two real `adfc train` processes on one `.adf`: the run folder and the lock file.

Each process is a separate interpreter (`python -m adf.cli.main train`), so
the OS-level locks are what keeps them apart, not anything shared in memory.
The fake servers hold a chosen request until the other process has reached
the point the test is about, so the order of events is fixed, not timed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from pathlib import Path

import optim_task as task
import pytest
from rb_train import ADFC, ENV, make_project, train_args

from adf.testing.fake_server import FakeServer, Request

pytestmark = pytest.mark.slow

LIMIT_S = 120.0  # a loaded machine; each process takes a few seconds on a quiet one


def _start(source: Path, url: str, out: Path, steps: int = 1) -> subprocess.Popen[str]:
    args = train_args(source, url, out, "--steps", str(steps))
    return subprocess.Popen([*ADFC, *args], env=ENV, cwd=source.parent, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _held(respond: object, release: threading.Event, when: object) -> object:
    """`respond`, except that a request for which `when(request)` holds waits for `release`."""

    def held(request: Request) -> object:
        if when(request):  # type: ignore[operator]
            release.wait(LIMIT_S)
        return respond(request)  # type: ignore[operator]

    return held


def test_a_second_process_on_the_same_run_folder_stops_at_once(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    run = tmp_path / "run"
    first_asked = threading.Event()
    release = threading.Event()

    def holding(request: Request) -> object:
        first_asked.set()  # the first process holds the folder and is mid-run
        release.wait(LIMIT_S)
        return task.responder()(request)

    with FakeServer(holding) as busy, FakeServer(task.responder()) as other:
        first = _start(source, busy.base_url, run)
        try:
            assert first_asked.wait(LIMIT_S)
            second = subprocess.run([*ADFC, *train_args(source, other.base_url, run, "--steps", "1")],
                                    env=ENV, cwd=tmp_path, text=True, capture_output=True,
                                    timeout=LIMIT_S)
            assert second.returncode == 2, second.stderr
            assert "in use by another adfc process" in second.stderr
            assert other.request_count == 0  # refused before any model call
        finally:
            release.set()
            _, err = first.communicate(timeout=LIMIT_S)
        assert first.returncode == 0, err
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "completed"


def test_a_worse_run_finishing_later_does_not_replace_the_lock(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    lock = Path(str(source) + ".lock")
    good_done = threading.Event()

    def halfway(request: Request) -> str:  # a change that helps, but less than the best one
        return f"<proposed_value>{task.FIRST}</proposed_value>"

    worse_responder = _held(task.responder(optimizer=halfway), good_done, task.is_optimizer)
    reads: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # every read of the lock file while both run is whole JSON
        while not stop.is_set():
            with contextlib.suppress(FileNotFoundError):
                reads.append(lock.read_text())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    with FakeServer(task.responder()) as good_server, FakeServer(worse_responder) as worse_server:
        watcher.start()
        good = _start(source, good_server.base_url, tmp_path / "good", steps=4)
        worse = _start(source, worse_server.base_url, tmp_path / "worse")
        try:
            _, good_err = good.communicate(timeout=LIMIT_S)
        finally:
            good_done.set()
        worse_out, worse_err = worse.communicate(timeout=LIMIT_S)
        stop.set()
        watcher.join()
    assert good.returncode == 0, good_err
    assert worse.returncode == 1, worse_out + worse_err
    assert "not replaced: another run wrote it after this one started" in worse_out
    assert "Traceback" not in worse_out + worse_err + good_err
    body = json.loads(lock.read_text())
    assert body["params"]["instruction"]["value"] == task.BEST
    assert body["trained"]["run"] == "good/report.json"
    assert reads, "the watcher never saw the lock file"
    for text in reads:
        assert json.loads(text)["format"] == "adf-lock"  # never torn
    # the worse run's values are not lost: they stay in its run folder
    worse_report = json.loads((tmp_path / "worse" / "report.json").read_text())
    assert worse_report["params"]["instruction"]["final"] == task.FIRST
    assert worse_report["scores"]["val_after"] < json.loads(
        (tmp_path / "good" / "report.json").read_text())["scores"]["val_after"]
