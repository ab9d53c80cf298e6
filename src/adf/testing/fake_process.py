"""The fake OpenAI server in a child process, for benchmarks.

Takes a latency and an optional constant reply; gives `FakeServerProcess`, a
context manager that runs `python -m adf.testing.fake_server` in a child
process (so the server's work does not compete with the client for the
GIL), with `.base_url`, `.stats()` (request count and peak in-flight
requests) and `.reset()`. The child exits when the parent closes its stdin,
also when the parent dies.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from types import TracebackType


class FakeServerProcess:
    def __init__(self, latency_s: float = 0.0, reply: str | None = None) -> None:
        self.latency_s = latency_s
        self.reply = reply
        self._proc: subprocess.Popen[str] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("fake server process is not running")
        return self._base_url

    def start(self) -> FakeServerProcess:
        command = [
            sys.executable,
            "-m",
            "adf.testing.fake_server",
            "--latency",
            str(self.latency_s),
        ]
        if self.reply is not None:
            command += ["--reply", self.reply]
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"fake server process did not start (said {line!r})")
        self._base_url = line
        return self

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.base_url + "/_stats", timeout=10) as resp:
            data: dict[str, int] = json.loads(resp.read())
        return data

    def reset(self) -> None:
        request = urllib.request.Request(self.base_url + "/_reset", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self._base_url = None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> FakeServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
