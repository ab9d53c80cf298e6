"""`adfc train` on a shared, flaky machine: concurrent runs, lock files, broken state, disks.

Every run here must end with a sentence and a documented status, never exit
70; no finished work is lost, and a lock file is never replaced by a run
that did not start from it.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import optim_task as task
import pytest
import rb_train as rb
from rb_train import make_project, train_args

from adf.cli.main import main
from adf.optim.runlock import hold_folder
from adf.testing.fake_server import FakeServer, Request

pytestmark = pytest.mark.slow


def _resume_line(out: str) -> list[str]:
    line = next(x for x in out.splitlines() if "adfc train" in x and "--resume" in x)
    words = shlex.split(line[line.index("adfc train"):])
    return words[1:]  # without "adfc"


def test_a_second_run_in_the_same_folder_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    with FakeServer(task.responder()) as server, hold_folder(str(run)):
        assert main(train_args(source, server.base_url, run)) == 2
        assert server.request_count == 0
    assert "in use by another adfc process" in capsys.readouterr().err


def test_lock_file_is_not_replaced_by_a_run_that_did_not_start_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    lock = Path(str(source) + ".lock")
    written: list[str] = []
    other = {"format": "adf-lock", "version": 1, "params": {}, "trained": {"by": "another run"}}
    respond = task.responder()

    def racing(request: Request) -> str:
        if task.is_optimizer(request) and not written:  # another run lands meanwhile
            lock.write_text(json.dumps(other))
            written.append("x")
        reply = respond(request)
        assert isinstance(reply, str)
        return reply

    with FakeServer(racing) as server:
        assert main(train_args(source, server.base_url, tmp_path / "run")) == 1
        out = capsys.readouterr().out
        assert "not replaced: another run wrote it after this one started" in out
        assert json.loads(lock.read_text()) == other  # the other run's result is kept
        report = json.loads((tmp_path / "run" / "report.json").read_text())
        assert report["params"]["instruction"]["final"] == task.BEST
        spent = server.request_count
        words = _resume_line(out)
        assert "--force" in words
        assert main(words) == 0  # the printed command writes this run's values, spending nothing
        assert server.request_count == spent
    body = json.loads(lock.read_text())
    assert body["params"]["instruction"]["value"] == task.BEST
    assert body["trained"]["run"] == "run/report.json"  # relative: no absolute path
    assert str(tmp_path) not in lock.read_text()


def test_no_lock_run_does_not_replace_the_lock_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    lock = Path(str(source) + ".lock")
    with FakeServer(task.responder()) as server:
        assert main(train_args(source, server.base_url, tmp_path / "a")) == 0
        first = lock.read_text()
        assert main(train_args(source, server.base_url, tmp_path / "b", "--no-lock")) == 1
        assert lock.read_text() == first
        assert "this run ignored it (--no-lock)" in capsys.readouterr().out


CORRUPTIONS = {
    "state is a list": lambda body: body.update(state=[]),
    "step is text": lambda body: body["state"].update(step="2"),
    "phase unknown": lambda body: body["state"].update(phase="running"),
    "values missing": lambda body: body["state"].pop("values"),
    "pool entry is text": lambda body: body["state"]["pool"].update(entries=[["t0", "high"]]),
    "meter is null": lambda body: body["state"].update(meter=None),
    "counters hold text": lambda body: body["state"].update(counters={"accepted": "one"}),
    "rng is broken": lambda body: body["state"].update(rng=[3, "x", None]),
    "a value is gone": lambda body: body["state"].update(values={}),
}


def test_damaged_checkpoints_are_refused_with_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    run = tmp_path / "run"
    with FakeServer(task.responder()) as server:
        assert main(train_args(source, server.base_url, run, "--steps", "1")) == 0
        pristine = (run / "checkpoint.json").read_text()
        capsys.readouterr()
        for name, damage in CORRUPTIONS.items():
            body = json.loads(pristine)
            damage(body)
            (run / "checkpoint.json").write_text(json.dumps(body))
            status = main(train_args(source, server.base_url, run, "--resume", "--steps", "3"))
            err = capsys.readouterr()
            assert status == 1, (name, err)
            assert "checkpoint" in err.out, name
            assert "Traceback" not in err.out + err.err


@pytest.mark.skipif(not rb.mounts_allowed(), reason="this machine does not allow mounts")
def test_read_only_places_are_named_before_any_call(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = make_project(tmp_path / "proj")
    outs = tmp_path / "outs"
    outs.mkdir()
    rb.read_only(outs)
    try:
        with FakeServer(task.responder()) as server:
            assert main(train_args(source, server.base_url, outs / "run")) == 2
            assert server.request_count == 0
    finally:
        rb.unmount(outs)
    err = capsys.readouterr().err
    assert "cannot write the run folder" in err and "read-only" in err
    assert "nothing was spent" in err
    rb.read_only(source.parent)
    try:
        with FakeServer(task.responder()) as server:
            assert main(train_args(source, server.base_url, tmp_path / "run")) == 2
            assert server.request_count == 0
    finally:
        rb.unmount(source.parent)
    assert "cannot write the lock file" in capsys.readouterr().err


@pytest.mark.skipif(not rb.mounts_allowed(), reason="this machine does not allow mounts")
def test_a_lock_that_cannot_be_written_keeps_the_values_and_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path / "proj")
    respond = task.responder()
    frozen: list[Path] = []

    def freezing(request: Request) -> str:
        if task.is_optimizer(request) and not frozen:  # the folder turns read-only mid-run
            rb.read_only(source.parent)
            frozen.append(source.parent)
        reply = respond(request)
        assert isinstance(reply, str)
        return reply

    try:
        with FakeServer(freezing) as server:
            assert main(train_args(source, server.base_url, tmp_path / "run")) == 1
    finally:
        for folder in frozen:
            rb.unmount(folder)
    out = capsys.readouterr().out
    assert "cannot write the lock file: the file system is read-only" in out
    assert not Path(str(source) + ".lock").exists()
    with FakeServer(task.responder()) as server:
        assert main(_resume_line(out)) == 0
        assert server.request_count == 0
    lock = json.loads(Path(str(source) + ".lock").read_text())
    assert lock["params"]["instruction"]["value"] == task.BEST


@pytest.mark.skipif(not rb.mounts_allowed(), reason="this machine does not allow mounts")
def test_a_full_disk_stops_with_a_sentence_and_the_run_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path / "proj")
    with rb.small_disk(tmp_path / "disk") as disk:
        run = disk / "run"
        respond = task.responder()
        filled: list[Path] = []

        def filling(request: Request) -> str:
            if task.is_optimizer(request) and not filled:
                filled.append(rb.fill(disk))
            reply = respond(request)
            assert isinstance(reply, str)
            return reply

        with FakeServer(filling) as server:
            status = main(train_args(source, server.base_url, run))
            out = capsys.readouterr().out
            assert status == 2, out
            assert "the disk is full" in out
            filled[0].unlink()
            assert main(_resume_line(out)) == 0
        report = json.loads((run / "report.json").read_text())
        assert report["params"]["instruction"]["final"] == task.BEST
