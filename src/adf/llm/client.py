"""The one wrapper around `litellm.acompletion` that every model call goes through.

Takes `ChatRequest`s; gives `ChatReply`s (or a `ModelError` with a one-line
reason) through `LiteLLMClient.complete`, which adds, in this order: the
reply cache (`adf.llm.cache`), de-duplication of identical requests in
flight, a concurrency cap, a per-call timeout, and retries with exponential
backoff and seeded jitter on 429 (honouring `Retry-After`), 5xx, timeouts,
dropped connections, malformed and empty replies. Every call, answered or
failed, is reported to the trace sinks as one `CallTrace` (pass an
`Accounting` to get totals).

- litellm is imported on the first call, never at import time.
- The keyword arguments sent to litellm and the reply made of its answer are
  built by `adf.llm.payload` (keys read from the environment at call time,
  cost from adf's catalogue); calls to an OpenAI-compatible endpoint take
  litellm's generic HTTP route where it sends the same request as the OpenAI
  SDK, and share one client per endpoint (`adf.llm.connections`); which
  failures are retried, and how long to wait, is `adf.llm.retry`. Secret values are scrubbed from every error
  text and trace (`adf.llm.secrets`).
- An unreachable server (connection refused, unknown host) fails at once,
  without retries, with an `UnreachableError`; later calls to the same
  endpoint fail immediately with the same error, so a run of 200 samples
  reports one reason, not 200 tracebacks.
- Structured replies: when a request has `json_schema`, the schema is sent as
  `response_format` in the form the provider honours: `{"type":
  "json_object", "schema": ...}` for adf's local llama.cpp server,
  `{"type": "json_schema", ...}` for models litellm knows support it, none
  otherwise. The `structured` extra forces a form ("json_schema",
  "json_object", "none"). A provider that rejects the schema with a 400 is
  asked again without it (remembered per model and endpoint).
  `ChatReply.structured` says whether the reply came back under a schema.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs

from adf.llm import payload
from adf.llm.cache import CachedReply, CacheError, ReplyCache, cache_key
from adf.llm.calltrace import CacheOutcome, CallTrace, TraceSink
from adf.llm.catalogue import SchemaForm, schema_form
from adf.llm.connections import Connections
from adf.llm.inflight import InFlight
from adf.llm.perloop import PerLoop
from adf.llm.protocol import ChatReply, ChatRequest, ModelError, RequestGate
from adf.llm.provider import load_litellm
from adf.llm.retry import (
    Retryable,
    RetryPolicy,
    UnreachableError,
    classify,
    describe,
    schema_rejected,
)
from adf.llm.secrets import scrub, secret_parts

__all__ = ["LiteLLMClient", "RetryPolicy", "UnreachableError"]


class _Refused(Exception):
    """A gate refused a request; `error` is what it raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class LiteLLMClient:
    """A `ModelClient` backed by litellm; see the module docstring.

    `sinks` receive one `CallTrace` per call (e.g. an `Accounting` and a
    `JsonlTraceWriter`). `environ` is where keys are read from (default
    `os.environ`); `sleep` is the backoff sleep (tests may replace it).
    `gates` are asked before every request sent to a provider, retries
    included; one that raises refuses the request, and its exception ends
    the call as it is (a budget's, for instance). `secret_values` are values
    read from the environment for options other than the key (an api_base
    URL may carry a token): replaced by *** in error messages and traces.
    """

    def __init__(
        self,
        *,
        cache: ReplyCache | None = None,
        sinks: Iterable[TraceSink] = (),
        concurrency: int = 8,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        gates: Iterable[RequestGate] = (),
        secret_values: Iterable[str] = (),
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.cache = cache
        self.sinks = tuple(sinks)
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._environ = environ
        self._sleep = sleep
        self.secret_values: tuple[str, ...] = ()
        self._secret_parts: tuple[str, ...] = ()
        self.add_secrets(secret_values)
        self._semaphores = PerLoop(lambda: asyncio.Semaphore(self.concurrency))
        self._inflight = PerLoop(InFlight)  # a future belongs to its loop
        self._connections = Connections(environ=environ)
        self._unreachable: dict[str, UnreachableError] = {}
        self._no_schema: set[tuple[str, str | None]] = set()
        self._litellm: Any = None
        self._gates: list[RequestGate] = list(gates)
        self.cache_errors: list[str] = []  # failed cache writes (the replies were kept)

    def add_gate(self, gate: RequestGate) -> None:
        """Ask `gate` before every provider request from now on (see `RequestGate`)."""
        self._gates.append(gate)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Scrub these values (and the parts of them a provider may quote) from now on."""
        new = tuple(v for v in values if v and v not in self.secret_values)
        self.secret_values += new
        self._secret_parts += tuple(p for v in new for p in secret_parts(v))

    @property
    def unreachable(self) -> Mapping[str, UnreachableError]:
        """Endpoints found unreachable so far, with the error each gave."""
        return dict(self._unreachable)

    async def aclose(self) -> None:
        """Close the HTTP connections this client keeps (a later call opens new ones)."""
        await self._connections.aclose()

    def warm(self) -> None:
        """Import litellm now rather than on the first call (a server does it at start-up)."""
        if self._litellm is None:
            self._litellm = load_litellm()

    # --- the protocol -----------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatReply:
        started, wall = time.perf_counter(), time.time()
        key = cache_key(request)
        caching = self.cache is not None and self.cache.enabled
        if caching:
            assert self.cache is not None
            try:
                hit = self.cache.get(key)
            except CacheError as exc:  # a damaged cache: named, then bypassed
                self.cache.give_up(exc)
                caching, hit = False, None
            if hit is not None:
                reply = payload.cached_reply(hit, time.perf_counter() - started)
                self._emit(request, key, reply, "hit", "none", None, wall)
                return reply
        if caching:
            shared = await self._follow(request, key, started, wall)
            if shared is not None:
                return shared
            with self._inflight.get().lead(key) as leading:
                reply, form = await self._call(request, key, started, wall, "miss")
                self._store(request, key, reply)
                leading.set_result(reply)
        else:
            reply, form = await self._call(request, key, started, wall, "off")
        self._emit(request, key, reply, "miss" if caching else "off", form, None, wall)
        return reply

    async def _follow(
        self, request: ChatRequest, key: str, started: float, wall: float
    ) -> ChatReply | None:
        """The reply of an identical call in flight, once it lands; None if there is none."""
        try:
            shared = await self._inflight.get().follow(key)
        except ModelError as exc:
            latency = time.perf_counter() - started
            self._emit(request, key, None, "dedup", "none", exc.reason, wall, latency)
            raise
        if shared is None:
            return None
        reply = attrs.evolve(shared, cached=True, retries=0,
                             latency_s=time.perf_counter() - started,
                             cost_usd=None if shared.cost_usd is None else 0.0)
        self._emit(request, key, reply, "dedup", "none", None, wall)
        return reply

    def _store(self, request: ChatRequest, key: str, reply: ChatReply) -> None:
        assert self.cache is not None
        stored = CachedReply(reply.text, reply.prompt_tokens, reply.completion_tokens,
                             reply.cost_usd, reply.structured)
        try:
            self.cache.put(key, request.model, stored)
        except CacheError as exc:  # keep the answer; say so once per client
            if exc.args[0] not in self.cache_errors:
                self.cache_errors.append(str(exc.args[0]))
            self.cache.give_up(exc)

    # --- one call, with retries ---------------------------------------------------

    async def _call(
        self, request: ChatRequest, key: str, started: float, wall: float, outcome: CacheOutcome
    ) -> tuple[ChatReply, SchemaForm]:
        self.warm()
        litellm = self._litellm
        endpoint = request.api_base or f"provider:{request.model.split('/')[0]}"
        form = self._schema_form(request)
        secrets: list[str] = [*self.secret_values, *self._secret_parts]
        retries = sent = 0
        waited = 0.0
        try:
            env = os.environ if self._environ is None else self._environ
            kwargs = payload.call_kwargs(request, self.timeout_s, env, secrets)
            await self._connections.attach(kwargs)
            timeout = float(kwargs["timeout"])
            while True:
                self._check_reachable(endpoint)
                try:
                    async with self._gate():
                        self._check_reachable(endpoint)
                        pending = self._admit(request, sent)
                        if pending:
                            await _admitted(pending)
                        sent += 1
                        try:
                            async with asyncio.timeout(timeout + 5.0):
                                response = await litellm.acompletion(
                                    **payload.attempt(kwargs, request, form))
                        except TimeoutError:
                            raise Retryable(f"timed out after {timeout:g}s") from None
                    text = payload.reply_text(response)
                    if not text.strip():
                        raise Retryable("the model returned an empty reply")
                    latency = time.perf_counter() - started
                    return payload.reply(request, response, text, form, retries, latency), form
                except Retryable as exc:
                    last_reason, retry_after = exc.reason, exc.retry_after
                except (ModelError, _Refused):
                    raise
                except Exception as exc:
                    if form != "none" and schema_rejected(litellm, exc):
                        self._no_schema.add((request.model, request.api_base))
                        form = "none"
                        retries += 1
                        continue
                    try:
                        retry_after = classify(litellm, exc, request, secrets)
                    except UnreachableError as error:
                        self._unreachable[endpoint] = error
                        raise
                    last_reason = describe(exc, secrets)
                delay = self.retry.wait(key, retries, waited, retry_after, request.model,
                                        last_reason)
                retries += 1
                waited += delay
                await self._sleep(delay)
        except ModelError as exc:
            exc.reason = scrub(exc.reason, secrets)
            exc.args = (exc.reason,)
            exc.requests = sent
            self._emit(request, key, None, outcome, form, exc.reason, wall,
                       time.perf_counter() - started, retries, sent)
            raise
        except _Refused as refused:
            self._emit(request, key, None, outcome, form,
                       f"refused before sending: {refused.error}", wall,
                       time.perf_counter() - started, retries, sent)
            raise refused.error from None

    def _check_reachable(self, endpoint: str) -> None:
        if (broken := self._unreachable.get(endpoint)) is not None:
            raise UnreachableError(broken.reason)

    def _admit(self, request: ChatRequest, attempt: int) -> list[Awaitable[None]]:
        """Ask every gate; gates that wait their turn give what to await (`_admitted`)."""
        pending: list[Awaitable[None]] = []
        for gate in self._gates:
            try:
                waiting = gate(request, attempt)
            except Exception as exc:
                raise _Refused(exc) from exc
            if waiting is not None:
                pending.append(waiting)
        return pending

    def _gate(self) -> asyncio.Semaphore:
        """The concurrency cap for the running event loop (a client may outlive a loop, or
        serve loops in several threads at once)."""
        return self._semaphores.get()

    def _schema_form(self, request: ChatRequest) -> SchemaForm:
        if request.json_schema is None or (request.model, request.api_base) in self._no_schema:
            return "none"
        return schema_form(request.model, dict(request.extra).get("structured"))

    def _emit(self, request: ChatRequest, key: str, reply: ChatReply | None,
              outcome: CacheOutcome, form: SchemaForm, error: str | None, wall: float,
              latency_s: float = 0.0, retries: int = 0, requests: int = 0) -> None:
        if not self.sinks:
            return
        record = CallTrace.of(
            request, key, reply, outcome, form, error=error, started_at=wall,
            latency_s=latency_s, retries=retries, requests=requests,
            api_base="***" if request.api_base in self.secret_values else request.api_base,
        )
        for sink in self.sinks:
            sink(record)


async def _admitted(pending: list[Awaitable[None]]) -> None:
    for waiting in pending:
        try:
            await waiting
        except Exception as exc:
            raise _Refused(exc) from exc
