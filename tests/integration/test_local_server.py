"""The real local llama.cpp server: start, share, stop, and never orphan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from adf.cli.main import main
from adf.local.model import LocalModelError
from adf.local.server import API_BASE_ENV, LocalServer, ServerSettings, answers, shared_server

pytestmark = pytest.mark.local_model


def _gone(pid: int) -> bool:
    """True once the process has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


def test_server_answers_models_with_the_local_alias(local_server: LocalServer) -> None:
    assert local_server.base_url.startswith("http://127.0.0.1:")
    assert local_server.base_url.endswith("/v1")
    with urllib.request.urlopen(f"{local_server.base_url}/models", timeout=10) as reply:
        models = json.loads(reply.read())
    assert [m["id"] for m in models["data"]] == ["local"]


def test_stop_ends_the_process_and_frees_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_BASE_ENV, raising=False)
    with LocalServer() as server:
        pid, url = server.pid, server.base_url
        assert pid is not None and answers(url)
    assert _wait_gone(pid, 5.0)
    assert not answers(url, timeout_s=1.0)


def test_shared_server_is_started_once_and_stopped_by_the_last_holder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(API_BASE_ENV, raising=False)
    with shared_server() as first:
        with shared_server() as second:
            assert second is first
            pid = first.pid
        assert pid is not None and answers(first.base_url)  # still held by the outer holder
    assert _wait_gone(pid, 5.0)


def test_no_orphan_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys, time
        os.environ.pop("ADF_LOCAL_API_BASE", None)
        from adf.local.server import LocalServer
        server = LocalServer()
        server.start()
        print(server.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not _gone(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    assert _wait_gone(child, 5.0), f"server {child} outlived its killed parent"


def test_a_broken_model_file_fails_fast_with_the_server_output(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 1024)
    server = LocalServer(ServerSettings(broken, startup_timeout_s=60), environ={})
    started = time.monotonic()
    with pytest.raises(LocalModelError, match="exited during start-up") as info:
        server.start()
    assert time.monotonic() - started < 30
    assert "broken.gguf" in str(info.value)  # the server's own last words are included


def test_cli_status_starts_the_server_and_gets_an_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(API_BASE_ENV, raising=False)
    assert main(["local", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["answer"]["reply"]
