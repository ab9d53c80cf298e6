"""Hostile inputs found by a command-by-command hunt: each ended with exit 70, a traceback
or a command that never returned. Pipes and devices where a file is expected, JSON nested
past the interpreter's stack, integers past Python's digit limit, in every place adf reads
them: data rows, plans, traces, checkpoints, model replies."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import rb_helpers as rb
from test_reliability_files import PROGRAM

from adf.cli.main import main
from adf.optim.checkpoint import CheckpointError, load_checkpoint
from adf.runtime.data import load_data
from adf.testing.fake_server import FakeReply, FakeServer

DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "1" * 5_000  # over CPython's 4,300-digit limit for int(str)


def returns_soon(call: Callable[[], int]) -> int:
    """`call()`'s result; fails (instead of hanging the suite) when it blocks."""
    done = threading.Event()
    got: list[int] = []

    def run() -> None:
        got.append(call())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "the command blocked on a pipe or read a device without end"
    return got[0]


def test_plans_traces_and_outputs_that_are_pipes_or_devices_are_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    fifo = tmp_path / "pipe.plan"
    os.mkfifo(fifo)
    assert returns_soon(lambda: main(["inspect", str(fifo)])) == 2
    assert returns_soon(lambda: main(["inspect", "/dev/zero"])) == 2
    assert returns_soon(lambda: main(["compile", str(source), "-o", str(fifo)])) == 2
    assert returns_soon(lambda: main(["graph", str(source), "--trace", str(fifo)])) == 2
    assert returns_soon(lambda: main(["graph", str(source), "--trace", "/dev/zero"])) == 2
    assert returns_soon(lambda: main(["run", str(source), "--input", f"@{fifo}"])) == 2
    err = capsys.readouterr().err
    assert err.count("it is a pipe, not a regular file") == 3
    assert err.count("it is a device, not a regular file") == 2
    assert "exists and is not a regular file; not overwriting it" in err


def test_a_trace_nested_past_the_stack_is_a_trace_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    for text in (DEEP, '{"node": "out", "sample": ' + DEEP + "}"):
        trace = tmp_path / "t.json"
        trace.write_text(text + "\n")
        assert main(["graph", str(source), "--trace", str(trace)]) == 1
        assert "the trace" in capsys.readouterr().err


def test_cost_reads_data_as_the_runtime_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    data = tmp_path / "d.jsonl"
    data.write_text(DEEP + '\n{"question": ' + LONG_INT + '}\n{"question": "q"}\n')
    assert main(["cost", str(source), "--data", str(data), "--no-cache"]) == 0
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    assert returns_soon(lambda: main(["cost", str(source), "--data", str(fifo), "--no-cache"])) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_row_with_an_integer_past_the_digit_limit_is_one_bad_row(tmp_path: Path) -> None:
    plan = rb.typed_plan("http://127.0.0.1:9/v1")
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "answer": ' + LONG_INT + '}\n{"question": "q", "answer": 1}\n')
    loaded = load_data(plan, str(data))
    assert [s.where for s in loaded.samples] == [f"{data}:2"]
    assert [(b.where, b.message) for b in loaded.bad_rows] == [
        (f"{data}:1", "a number has too many digits")]


def test_a_checkpoint_nested_past_the_stack_is_a_damaged_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.json").write_text('{"format": ' + DEEP + "}")
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_checkpoint(str(tmp_path))


@pytest.mark.parametrize(("output", "reply", "value"), [
    ("int", DEEP, None), ("list[int]", DEEP, None), ("{a: int}", '{"a": ' + DEEP + "}", None),
    ("list[int]", "```json\n" + DEEP + "\n```", None),
    ("int", LONG_INT, None), ("list[int]", f"[{LONG_INT}]", None),
    ("{a: int}", f'{{"a": {LONG_INT}}}', None),
    # shallower than the stack but deeper than 64: not JSON; the tolerant reader finds the 1
    ("list[int]", "[" * 80 + "1" + "]" * 80, [1]),
    # a lone surrogate (no provider would take it back) is not decoded: the text is kept
    ("list[str]", '["\\ud800"]', ['["\\ud800"]']),
])
def test_a_hostile_reply_is_an_unreadable_reply_not_a_crash(
    output: str, reply: str, value: object
) -> None:
    with FakeServer(lambda _req: reply) as srv:
        result = rb.run(rb.typed_plan(srv.base_url, output), [{"question": "q", "answer": 1}])
        assert srv.request_count == 1
    [sample] = result.samples
    if value is None:
        assert sample.error is not None and sample.error.kind == "parse", sample.error
        assert json.dumps(sample.error.message)  # a message, not an exception
    else:
        assert sample.error is None and sample.outputs == (("pred", value),)


def test_a_reply_litellm_cannot_read_is_named_in_one_line_without_its_traceback() -> None:
    reply = FakeReply("Answer: 3", prompt_tokens=1.5, completion_tokens=1e308)  # type: ignore[arg-type]
    with FakeServer(lambda _req: reply) as srv:
        try:
            result = rb.run(rb.typed_plan(srv.base_url), [{"question": "q", "answer": 3}])
            message = str(result.samples[0].error)
        except Exception as exc:  # the whole run stops: the model is unusable
            message = str(exc)
    assert "Invalid response object" in message
    assert "Traceback" not in message and "\n" not in message


def test_the_python_api_names_rows_that_are_not_objects_and_a_negative_limit(
    tmp_path: Path
) -> None:
    import adf

    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    (tmp_path / "d.jsonl").write_text('{"question": "q"}\n')
    workflow = adf.load(str(source), cache=False)
    with pytest.raises(adf.InputError, match=r"\[1\]: expected an object of inputs, found int"):
        workflow.batch([{"question": "q"}, 1])  # type: ignore[list-item]
    # a negative limit used to evaluate nothing and report an empty success
    with pytest.raises(adf.WorkflowError, match="row limit must not be negative"):
        workflow.evaluate(str(tmp_path / "d.jsonl"), limit=-1)


@pytest.mark.parametrize(("message", "status"), [
    (b"Content-Length: 5\r\n\r\n{{{{{", 0),  # logged in one line, the server goes on to EOF
    (b"Content-Length: 99999999999\r\n\r\n{}", 2),  # pygls allocates what is announced
])
def test_the_language_server_answers_a_malformed_message_without_a_traceback(
    message: bytes, status: int
) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "adf.cli.main", "lsp"], input=message,
                          capture_output=True, timeout=120, env={**os.environ})
    assert done.returncode == status, done.stderr
    assert b"Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("argv", [
    ["eval", "--timeout", "nan"], ["eval", "--timeout", "0"], ["eval", "--timeout", "inf"],
    ["run", "--timeout", "-1", "--input", "{}"], ["eval", "--fail-under", "nan"],
    ["serve", "--port", "99999"], ["serve", "--port", "-1"],
    ["serve", "--request-timeout", "nan"], ["serve", "--grace", "-1"],
])
def test_seconds_ports_and_scores_out_of_range_are_usage_errors(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # nan and 0 timeouts were taken silently, inf failed every call, port 99999 was exit 70
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    command, *options = argv
    try:
        status = main([command, str(source), *options])
    except SystemExit as exc:
        status = exc.code  # type: ignore[assignment]
    assert status == 2
    assert "expected a" in capsys.readouterr().err


def test_serve_on_an_address_it_cannot_bind_exits_2(tmp_path: Path) -> None:
    import socket

    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    with socket.socket() as taken:  # a port in use; uvicorn exited 3, an undocumented status
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", str(source), "--no-cache", "--port", port]) == 2


def test_a_reply_holding_a_lone_surrogate_is_printed_cached_and_traced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the provider's JSON says "\ud800": printing the reply was exit 70, caching or
    # tracing it failed the call as "model unavailable"
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    with FakeServer(lambda _req: "Answer: 3 \ud800") as srv:
        argv = ["run", str(source), "--api-base", f"m={srv.base_url}", "--input",
                '{"question": "q"}', "--cache", str(tmp_path / "c.sqlite"),
                "--trace", str(tmp_path / "t.jsonl")]
        assert main([*argv, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["outputs"]["out"] == "Answer: 3 \ufffd"
        assert main([*argv, "-v"]) == 0  # the second answer comes from the cache
        assert srv.request_count == 1
    assert "Answer: 3 \ufffd" in capsys.readouterr().out
    assert "\\ufffd" in (tmp_path / "t.jsonl").read_text() or "\ufffd" in (tmp_path / "t.jsonl").read_text()


def test_a_lock_file_or_checkpoint_that_is_a_pipe_or_device_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a FIFO lock file blocked every command; a link to /dev/zero was read until memory ran out
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    lock = tmp_path / "p.adf.lock"
    os.mkfifo(lock)
    assert returns_soon(lambda: main(["cost", str(source), "--no-cache"])) == 2
    lock.unlink()
    lock.symlink_to("/dev/zero")
    assert returns_soon(lambda: main(["cost", str(source), "--no-cache"])) == 2
    err = capsys.readouterr().err
    assert "it is a pipe, not a regular file" in err and "it is a device" in err
    os.mkfifo(tmp_path / "checkpoint.json")
    refused: list[str] = []

    def read_checkpoint() -> int:
        try:
            load_checkpoint(str(tmp_path))
        except CheckpointError as exc:
            refused.append(str(exc))
            return 1
        return 0

    assert returns_soon(read_checkpoint) == 1
    assert "it is a pipe, not a regular file" in refused[0]


def test_a_trace_on_a_full_disk_is_a_warning_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/full: every write fails with ENOSPC; closing the trace was exit 70
    source = tmp_path / "p.adf"
    source.write_text(PROGRAM)
    with FakeServer(lambda _req: "fine") as srv:
        assert main(["run", str(source), "--api-base", f"m={srv.base_url}", "--no-cache",
                     "--input", '{"question": "q"}', "--trace", "/dev/full"]) == 0
        assert srv.request_count == 1
    assert "warning: cannot write the trace /dev/full: No space left on device" in \
        capsys.readouterr().err
