"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

Takes a responder (request JSON -> reply text or `FakeReply`), an optional
latency and an optional `FaultPlan`; gives `FakeServer`, a context manager
that serves `POST /v1/chat/completions` (plain and streaming) and
`GET /v1/models` from a background thread on a free port, and records every
request body it received. Answers are deterministic: the responder decides
the text, token usage is counted from characters (ceil(chars / 4)), and
faults are chosen by request index or by a seeded hash of the request
content (so a concurrent run injects the same faults whatever the
scheduling order).

Usage::

    from adf.testing.fake_server import FakeServer, FaultPlan, Fault, rules, last_user

    answer = rules([(lambda req: "apples" in last_user(req), "Answer: 7")],
                   default="Answer: 0")
    faults = FaultPlan(at={0: Fault("429", retry_after=0.01)})
    with FakeServer(answer, latency_s=0.001, faults=faults) as srv:
        # litellm: model="openai/anything", api_base=srv.base_url, api_key="x"
        ...
        assert srv.request_count == 2          # the 429, then the retry
        assert srv.requests[0]["messages"][-1]["content"] == "..."
        assert srv.max_in_flight <= 4          # peak concurrent requests
        assert srv.headers[0]["authorization"] == "Bearer x"

A responder may also answer an HTTP error: `FakeReply("bad key", status=401)`,
or call a tool as OpenAI does (`message.tool_calls`, `finish_reason`
"tool_calls"): `tool_reply("calculator", expression="2+3")`; `tools_of(req)`
lists the tools a request offers.
`srv.reset()` forgets what was recorded. For benchmarks that want the server
out of the client's process, `adf.testing.fake_process.FakeServerProcess`
runs `python -m adf.testing.fake_server --latency S` in a child process.

Fault kinds: "429" (with `Retry-After: retry_after` seconds), "500", "timeout"
(sleeps `delay_s` before answering, meant to exceed the client's timeout),
"malformed" (HTTP 200 whose body is not JSON), "empty" (a valid completion
whose content is ""), "disconnect" (closes the connection without a reply).
`FaultPlan(rate=0.2, kinds=("429", "500"), seed=1, max_per_request=2)` fails
about a fifth of the requests, never the same request body more than twice,
so clients with retries always get through. Stopping the server wakes any
sleeping handler and closes open keep-alive connections, so no thread or
port is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast

import attrs

from adf.testing.responders import (
    FakeReply,
    Request,
    Responder,
    Rule,
    all_text,
    constant,
    last_user,
    rules,
    system_text,
    tool_reply,
    tools_of,
)

# the responder names are re-exported: tests and benchmarks import them from here
__all__ = [
    "FakeReply",
    "FakeServer",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Request",
    "Responder",
    "Rule",
    "all_text",
    "constant",
    "estimate_tokens",
    "last_user",
    "rules",
    "system_text",
    "tool_reply",
    "tools_of",
]


FaultKind = Literal["429", "500", "timeout", "malformed", "empty", "disconnect"]


@attrs.frozen
class Fault:
    """One injected failure. `retry_after` is sent for 429; `delay_s` is the timeout sleep."""

    kind: FaultKind
    retry_after: float | None = 0.0
    delay_s: float = 5.0


@attrs.frozen
class FaultPlan:
    """Which requests fail, and how.

    `at` maps a 0-based request index (arrival order) to a fault. `rate` fails
    that fraction of the remaining requests, choosing the kind from `kinds`;
    the decision hashes `seed`, the request body and how many times that body
    was seen before, so it does not depend on arrival order. `max_per_request`
    caps how often one body is failed by the `rate` rule.
    """

    at: Mapping[int, Fault] = attrs.field(factory=dict)
    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = ("429", "500", "timeout", "malformed", "empty")
    seed: int = 0
    max_per_request: int | None = None
    retry_after: float | None = 0.0
    delay_s: float = 5.0

    def choose(self, index: int, body_key: str, seen: int, failed: int) -> Fault | None:
        if index in self.at:
            return self.at[index]
        if self.rate <= 0.0 or not self.kinds:
            return None
        if self.max_per_request is not None and failed >= self.max_per_request:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{body_key}\0{seen}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2.0**64
        if draw >= self.rate:
            return None
        kind = self.kinds[int.from_bytes(digest[8:12], "big") % len(self.kinds)]
        return Fault(kind, retry_after=self.retry_after, delay_s=self.delay_s)


def estimate_tokens(text: str) -> int:
    """The server's deterministic token count: ceil(chars / 4), at least 1 for non-empty text."""
    return math.ceil(len(text) / 4)


# --- the server ---------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60.0  # an idle keep-alive connection is dropped after this long
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on small replies
    wbufsize = 1 << 16  # headers and body leave in one write, at flush()
    server: _Http

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/_stats"):
            owner = self.server.owner
            self._send_json(
                200, {"requests": owner.request_count, "max_in_flight": owner.max_in_flight}
            )
        elif self.path.rstrip("/").endswith("/models"):
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "adf"}],
                },
            )
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/").endswith("/_reset"):
            self.server.owner.reset()
            self._send_json(200, {"reset": True})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError as exc:
            self._send_json(400, {"error": {"message": f"bad request body: {exc}"}})
            return
        self.server.owner._serve(self, cast(Request, body))

    def _send_json(
        self, status: int, payload: object, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self._send_raw(status, data, "application/json", headers)

    def _send_raw(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class _Http(ThreadingHTTPServer):
    daemon_threads = False  # handler threads are joined by server_close()
    allow_reuse_address = True
    request_queue_size = 1024  # many clients connecting at once (load benchmarks)

    def __init__(self, owner: FakeServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeServer:
    """An OpenAI-compatible chat server with scripted answers; see the module docstring."""

    def __init__(
        self,
        responder: Responder | str | None = None,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        model_id: str = "fake",
    ) -> None:
        if responder is None:
            responder = "ok"
        self._responder: Responder = (
            constant(responder) if isinstance(responder, str) else responder
        )
        self.latency_s = latency_s
        self.faults = faults or FaultPlan()
        self.model_id = model_id
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[Request] = []
        self._arrivals: list[float] = []
        self._headers: list[dict[str, str]] = []
        self._faults_sent: list[tuple[int, FaultKind]] = []
        self._seen: dict[str, int] = {}
        self._failed: dict[str, int] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._http: _Http | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FakeServer:
        if self._http is not None:
            return self
        self._stop.clear()
        self._http = _Http(self)
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"adf-fake-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        http, thread = self._http, self._thread
        if http is None or thread is None:
            return
        self._stop.set()
        http.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _close_quietly(conn)
        http.server_close()  # joins the handler threads
        thread.join(timeout=5)
        self._http = None
        self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses and records
    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("fake server is not running")
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[Request]:
        """A copy of every chat request body received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def arrivals(self) -> list[float]:
        """When each chat request arrived (`time.monotonic()`), in arrival order."""
        with self._lock:
            return list(self._arrivals)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The HTTP headers of every chat request (names lower-cased), in arrival order."""
        with self._lock:
            return [dict(h) for h in self._headers]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def faults_sent(self) -> list[tuple[int, FaultKind]]:
        """(request index, fault kind) for every injected fault, in arrival order."""
        with self._lock:
            return list(self._faults_sent)

    @property
    def max_in_flight(self) -> int:
        """The most chat requests being handled at the same moment."""
        with self._lock:
            return self._max_in_flight

    def reset(self) -> None:
        """Forget recorded requests, faults and counters (the fault plan is kept)."""
        with self._lock:
            self._requests.clear()
            self._arrivals.clear()
            self._headers.clear()
            self._faults_sent.clear()
            self._seen.clear()
            self._failed.clear()
            self._max_in_flight = self._in_flight

    # internals
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(conn)
                return
            self._connections.add(conn)
            stopping = self._stop.is_set()
        if stopping:  # accepted just before stop(): do not wait for a request
            _close_quietly(conn)

    def _serve(self, handler: _Handler, body: Request) -> None:
        key = json.dumps(body, sort_keys=True, separators=(",", ":"))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            index = len(self._requests)
            self._requests.append(body)
            self._arrivals.append(time.monotonic())
            self._headers.append(headers)
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            fault = self.faults.choose(index, key, seen, self._failed.get(key, 0))
            if fault is not None:
                self._failed[key] = self._failed.get(key, 0) + 1
                self._faults_sent.append((index, fault.kind))
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if self.latency_s > 0 and self._stop.wait(self.latency_s):
                handler.close_connection = True
                return
            self._answer(handler, body, index, fault)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, handler: _Handler, body: Request, index: int, fault: Fault | None) -> None:
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "timeout":
            if self._stop.wait(fault.delay_s):
                handler.close_connection = True
                return
            kind = None  # a client that waited this long gets a normal answer
        if kind == "disconnect":
            handler.close_connection = True
            return
        if fault is not None and kind == "429":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _format_seconds(fault.retry_after)
            handler._send_json(
                429,
                {
                    "error": {
                        "message": "rate limited (injected)",
                        "type": "rate_limit_error",
                        "code": "rate_limit_exceeded",
                    }
                },
                headers,
            )
            return
        if kind == "500":
            handler._send_json(
                500, {"error": {"message": "internal error (injected)", "type": "server_error"}}
            )
            return
        if kind == "malformed":
            handler._send_raw(
                200, b'{"id": "chatcmpl-broken", "choices": [{"mess', "application/json"
            )
            return
        try:
            reply = self._responder(body)
        except Exception as exc:  # a broken responder is a test bug; answer 500 with its message
            handler._send_json(500, {"error": {"message": f"responder failed: {exc!r}"}})
            return
        if isinstance(reply, str):
            reply = FakeReply(reply)
        if reply.status >= 400:
            error = {"message": reply.text, "type": "invalid_request_error", "code": reply.status}
            handler._send_json(reply.status, {"error": error})
            return
        if kind == "empty":
            reply = attrs.evolve(reply, text="", completion_tokens=0, tool_calls=())
        prompt_tokens = reply.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = estimate_tokens(all_text(body))
        completion_tokens = reply.completion_tokens
        if completion_tokens is None:
            completion_tokens = estimate_tokens(reply.text + "".join(a for _, a in reply.tool_calls))
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if reply.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
        model = str(body.get("model", self.model_id))
        ident = f"chatcmpl-fake-{index}"
        if body.get("stream"):
            handler._send_raw(200, _sse(ident, model, reply, usage), "text/event-stream")
            return
        handler._send_json(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": _message(ident, reply),
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": usage,
            },
        )


def _close_quietly(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _message(ident: str, reply: FakeReply) -> dict[str, object]:
    if not reply.tool_calls:
        return {"role": "assistant", "content": reply.text}
    calls = [
        {"index": i, "id": f"call-{ident}-{i}", "type": "function",
         "function": {"name": name, "arguments": arguments}}
        for i, (name, arguments) in enumerate(reply.tool_calls)
    ]
    return {"role": "assistant", "content": reply.text or None, "tool_calls": calls}


def _sse(ident: str, model: str, reply: FakeReply, usage: Mapping[str, object]) -> bytes:
    def chunk(delta: Mapping[str, object], finish: str | None, **more: object) -> dict[str, object]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": dict(delta), "finish_reason": finish}],
            **more,
        }

    events: Iterator[dict[str, object]] = iter(
        [
            chunk(_message(ident, reply), None),
            chunk({}, reply.finish_reason, usage=dict(usage)),
        ]
    )
    lines = [f"data: {json.dumps(event)}\n\n" for event in events]
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve from the command line (for benchmarks that want the server in its own process).

    Prints the base URL on the first line of stdout, then serves until stdin
    closes or the process is terminated. `GET /v1/_stats` answers the request
    count and peak in-flight requests; `POST /v1/_reset` clears them.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m adf.testing.fake_server")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument(
        "--reply", default=None, help="a constant reply (default: echo the question)"
    )
    args = parser.parse_args(argv)
    responder: Responder = (
        constant(args.reply) if args.reply is not None else (lambda r: "echo " + last_user(r)[-60:])
    )
    with FakeServer(responder, latency_s=args.latency) as srv:
        print(srv.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # until the parent closes our stdin
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
