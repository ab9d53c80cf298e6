"""Start, reuse and stop adf's local llama.cpp server.

Takes `ServerSettings` (GGUF path, context size, threads); gives a running
OpenAI-compatible server whose ``base_url`` (``http://127.0.0.1:PORT/v1``)
litellm reaches as ``model="openai/local"``.

- `LocalServer` is a context manager: it starts ``python -m llama_cpp.server``
  on a free port, waits until ``/v1/models`` answers, and stops it on exit.
  When ``ADF_LOCAL_API_BASE`` is set it starts nothing and uses that server.
- `shared_server(settings)` hands out one server per settings to every
  holder in the process, started by the first and stopped when the last
  lets go.
- `litellm_options` and `response_format` give the request arguments this
  server understands (schema-constrained decoding included).
- No orphan survives the parent: the child runs under `adf.local.child`,
  which exits as soon as a pipe held by the parent closes (so also when the
  parent is killed with SIGKILL), and an ``atexit`` hook stops what is left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

import attrs

from adf.local.model import LocalModelError, locate_model, require_server

API_BASE_ENV = "ADF_LOCAL_API_BASE"
MODEL_ALIAS = "local"
LITELLM_MODEL = "openai/local"
HOST = "127.0.0.1"
STDERR_TAIL_LINES = 20


@attrs.frozen
class ServerSettings:
    """How to run the local server; equal settings share one server."""

    model_path: Path
    n_ctx: int = 2048
    n_threads: int = 1
    n_threads_batch: int | None = None  # prompt processing; None: same as n_threads
    startup_timeout_s: float = 120.0

    @classmethod
    def default(cls, n_ctx: int = 2048, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings for the located model (see `locate_model`)."""
        return cls(model_path=locate_model(environ), n_ctx=n_ctx)

    def command(self, port: int, parent_fd: int) -> list[str]:
        """The child's argv: the watchdog wrapper around ``llama_cpp.server``."""
        return [
            sys.executable,
            "-m",
            "adf.local.child",
            str(parent_fd),
            "--model",
            str(self.model_path),
            "--host",
            HOST,
            "--port",
            str(port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads if self.n_threads_batch is None else self.n_threads_batch),
            "--model_alias",
            MODEL_ALIAS,
            "--interrupt_requests",
            "False",
        ]


def litellm_options(base_url: str) -> dict[str, str]:
    """The litellm arguments that reach the local server at ``base_url``."""
    return {"model": LITELLM_MODEL, "api_base": base_url, "api_key": "local"}


def response_format(schema: Mapping[str, object]) -> dict[str, object]:
    """The ``response_format`` this server turns into schema-constrained decoding.

    llama-cpp-python honours ``{"type": "json_object", "schema": ...}`` only;
    the OpenAI form ``{"type": "json_schema", ...}`` fails its request
    validation with HTTP 500. A schema it cannot translate to a grammar falls
    back, silently, to any JSON: validate the reply all the same.
    """
    return {"type": "json_object", "schema": dict(schema)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def answers(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``GET {base_url}/models`` returns 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout_s) as reply:
            status: int = reply.status
            return status == 200
    except (OSError, ValueError):
        return False


def external_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``ADF_LOCAL_API_BASE`` without a trailing slash, or None when unset."""
    env = os.environ if environ is None else environ
    value = env.get(API_BASE_ENV, "").strip().rstrip("/")
    return value or None


class LocalServer:
    """One llama.cpp server process (or an external one), as a context manager."""

    def __init__(
        self,
        settings: ServerSettings | None = None,
        *,
        port: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._port = port
        self._environ = os.environ if environ is None else environ
        self._settings = settings
        self._external = external_base_url(self._environ)
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe_fd: int | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` of the running server."""
        if self._base_url is None:
            raise LocalModelError("the local server is not running")
        return self._base_url

    @property
    def external(self) -> bool:
        """True when this object reuses a server named by ``ADF_LOCAL_API_BASE``."""
        return self._external is not None

    @property
    def pid(self) -> int | None:
        """The server's process id, or None when none was started here."""
        return None if self._process is None else self._process.pid

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server (or check the external one) and wait until it answers."""
        if self._base_url is not None:
            return
        if self._external is not None:
            if not answers(self._external, timeout_s=5.0):
                raise LocalModelError(
                    f"{API_BASE_ENV}={self._external} does not answer GET /models; "
                    "start that server or unset the variable"
                )
            self._base_url = self._external
            return
        require_server()
        settings = self._settings or ServerSettings.default(environ=self._environ)
        last_error: LocalModelError | None = None
        attempts = 1 if self._port is not None else 3
        for _ in range(attempts):  # a port picked as free may be taken before the server binds it
            try:
                self._launch(settings)
                return
            except _PortTaken as exc:
                last_error = exc.error
        assert last_error is not None
        raise last_error

    def _launch(self, settings: ServerSettings) -> None:
        port = self._port if self._port is not None else free_port()
        read_fd, write_fd = os.pipe()
        self._log = tempfile.NamedTemporaryFile(prefix="adf-llama-", suffix=".log")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                settings.command(port, read_fd),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(read_fd,),
                start_new_session=True,  # Ctrl-C reaches adf, which stops the server itself
            )
        except OSError as exc:
            os.close(write_fd)
            self._close_log()
            raise LocalModelError(f"cannot start the local server: {exc.strerror}") from None
        finally:
            os.close(read_fd)
        self._pipe_fd = write_fd
        _LIVE.add(self)
        base_url = f"http://{HOST}:{port}/v1"
        deadline = time.monotonic() + settings.startup_timeout_s
        while time.monotonic() < deadline:
            status = self._process.poll()
            if status is not None:
                tail = self.log_tail()
                self.stop()
                error = LocalModelError(
                    f"the local server exited during start-up (status {status}); "
                    f"its last output:\n{tail}"
                )
                if "address already in use" in tail.lower():
                    raise _PortTaken(error)
                raise error
            if answers(base_url, timeout_s=1.0):
                self._base_url = base_url
                return
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise LocalModelError(
            f"the local server did not answer within {settings.startup_timeout_s:.0f} s; "
            f"its last output:\n{tail}"
        )

    def log_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the server wrote (stdout and stderr)."""
        if self._log is None:
            return ""
        try:
            data = Path(self._log.name).read_bytes()
        except OSError:
            return ""
        text = data.decode("utf-8", errors="replace").rstrip()
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the server: close the watchdog pipe, then SIGTERM, then SIGKILL."""
        self._base_url = None
        process, self._process = self._process, None
        if self._pipe_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe_fd)
            self._pipe_fd = None
        _LIVE.discard(self)
        if process is not None:
            _terminate(process, grace_s)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None


class _PortTaken(Exception):
    def __init__(self, error: LocalModelError) -> None:
        super().__init__(str(error))
        self.error = error


def _terminate(process: subprocess.Popen[bytes], grace_s: float) -> None:
    # The child exits by itself once the pipe is closed; the signals are the fallback.
    steps: tuple[tuple[signal.Signals | None, float], ...] = (
        (None, 2.0),
        (signal.SIGTERM, grace_s),
        (signal.SIGKILL, 5.0),
    )
    for sig, wait_s in steps:
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait_s)
            return


class _LiveServers:
    """Servers started by this process, stopped at interpreter exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: list[LocalServer] = []

    def add(self, server: LocalServer) -> None:
        with self._lock:
            self._servers.append(server)

    def discard(self, server: LocalServer) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._servers.remove(server)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers)
        for server in servers:
            server.stop(grace_s=2.0)


class _SharedServers:
    """One server per settings for the whole process, reference-counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[ServerSettings | None, tuple[LocalServer, int]] = {}

    @contextlib.contextmanager
    def hold(self, settings: ServerSettings | None) -> Iterator[LocalServer]:
        with self._lock:
            server, count = self._entries.get(settings, (None, 0))
            if server is None:
                server = LocalServer(settings)
                server.start()  # under the lock: a second holder waits, then shares it
            self._entries[settings] = (server, count + 1)
        try:
            yield server
        finally:
            with self._lock:
                server, count = self._entries[settings]
                if count == 1:
                    del self._entries[settings]
                    server.stop()
                else:
                    self._entries[settings] = (server, count - 1)


_LIVE = _LiveServers()
_SHARED = _SharedServers()
atexit.register(_LIVE.stop_all)


def shared_server(
    settings: ServerSettings | None = None,
) -> contextlib.AbstractContextManager[LocalServer]:
    """Hold the process-wide server for ``settings`` (None: the default model).

    The first holder starts it; later holders reuse it; it stops when the
    last holder exits. ``ADF_LOCAL_API_BASE`` is honoured as in `LocalServer`.
    """
    if settings is None and external_base_url() is None:
        settings = ServerSettings.default()
    return _SHARED.hold(settings)
