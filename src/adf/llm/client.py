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
- The API key is read from `os.environ[request.api_key_env]` at call time
  (an `env.<option>` extra names the variable of any other secret option);
  when a request names no key but sets `api_base`, a dummy key is sent so a
  provider key from the environment never goes to a custom server. Secret
  values are scrubbed from every error text.
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
- Tools: a request with `tools` sends them with `tool_choice="required"`; the
  model's first tool call comes back as the reply text in the one form of
  `adf.llm.toolcall`, so caching, de-duplication and traces treat it as any
  other reply.
- `extra` entries are passed to litellm as keyword arguments, except
  `structured`, `timeout` (seconds for this call), `local_model` (the local
  GGUF's identity, for the cache key) and `env.<option>`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs

from adf.llm.cache import CachedReply, CacheError, ReplyCache, cache_key
from adf.llm.calltrace import CacheOutcome, CallTrace, TraceSink
from adf.llm.catalogue import FREE, SchemaForm, estimate_tokens, price, schema_form
from adf.llm.protocol import ChatReply, ChatRequest, ModelError, RequestGate
from adf.llm.provider import load_litellm
from adf.llm.toolcall import encode_tool_call

NO_KEY = "adf-no-key"
_CLIENT_EXTRA = frozenset({"structured", "timeout", "local_model"})


class UnreachableError(ModelError):
    """The model's server cannot be reached at all (refused, unknown host)."""


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about base * 2**n, at most `max_delay_s`.

    The jitter is drawn from an RNG seeded by `seed`, the request's cache key
    and the attempt number, so the waits are reproducible whatever the
    scheduling order. `Retry-After` raises a wait to what the server asked.
    No call waits more than `max_total_wait_s` in all.
    """

    max_retries: int = 4
    base_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.5  # fraction of the delay that is random
    max_total_wait_s: float = 60.0
    seed: int = 0

    def delay(self, key: str, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay_s, self.base_s * (2.0**attempt))
        rng = random.Random(f"{self.seed}:{key}:{attempt}")
        backoff *= 1.0 - self.jitter * rng.random()
        if retry_after is not None:
            return max(backoff, retry_after)
        return backoff


class _Refused(Exception):
    """A gate refused a request; `error` is what it raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class LiteLLMClient:
    """A `ModelClient` backed by litellm; see the module docstring.

    `sinks` receive one `CallTrace` per call (e.g. an `Accounting` and a
    `JsonlTraceWriter`). `environ` is where keys are read from (default
    `os.environ`); `sleep` is the backoff sleep (tests may replace it).
    `gates` are asked before every request sent to a provider, retries
    included; one that raises refuses the request, and its exception ends
    the call as it is (a budget's, for instance).
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
        # values read from env() for options other than the key (an api_base URL may carry a
        # token): replaced by *** in error messages and call traces
        self.secret_values = tuple(v for v in secret_values if v)
        self._secret_parts = tuple(p for v in self.secret_values for p in _secret_parts(v))
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[str, asyncio.Future[ChatReply]] = {}
        self._unreachable: dict[str, UnreachableError] = {}
        self._no_schema: set[tuple[str, str | None]] = set()
        self._litellm: Any = None
        self._gates: list[RequestGate] = list(gates)
        self.cache_errors: list[str] = []  # failed cache writes (the replies were kept)

    def add_gate(self, gate: RequestGate) -> None:
        """Ask `gate` before every provider request from now on (see `RequestGate`)."""
        self._gates.append(gate)

    @property
    def unreachable(self) -> Mapping[str, UnreachableError]:
        """Endpoints found unreachable so far, with the error each gave."""
        return dict(self._unreachable)

    # --- the protocol -----------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatReply:
        started = time.perf_counter()
        wall = time.time()
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
                reply = self._from_cache(hit, started)
                self._emit(request, key, reply, "hit", "none", None, wall)
                return reply
            while (pending := self._inflight.get(key)) is not None:
                try:
                    shared = await asyncio.shield(pending)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if pending.cancelled() and task is not None and not task.cancelling():
                        continue  # the leader was cancelled, not us: try again
                    raise
                except ModelError as exc:
                    self._emit(
                        request,
                        key,
                        None,
                        "dedup",
                        "none",
                        exc.reason,
                        wall,
                        time.perf_counter() - started,
                    )
                    raise
                reply = attrs.evolve(
                    shared,
                    cached=True,
                    retries=0,
                    latency_s=time.perf_counter() - started,
                    cost_usd=None if shared.cost_usd is None else 0.0,
                )
                self._emit(request, key, reply, "dedup", "none", None, wall)
                return reply
        future: asyncio.Future[ChatReply] | None = None
        if caching:
            future = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
        try:
            reply, form = await self._call(
                request, key, started, wall, "miss" if caching else "off"
            )
            if caching and self.cache is not None:
                stored = CachedReply(
                    reply.text,
                    reply.prompt_tokens,
                    reply.completion_tokens,
                    reply.cost_usd,
                    reply.structured,
                )
                try:
                    self.cache.put(key, request.model, stored)
                except CacheError as exc:  # keep the answer; say so once per client
                    if exc.args[0] not in self.cache_errors:
                        self.cache_errors.append(str(exc.args[0]))
                    self.cache.give_up(exc)
        except BaseException as exc:
            if future is not None:
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # mark retrieved: followers may be none
            raise
        finally:
            if future is not None:
                self._inflight.pop(key, None)
        if future is not None:
            future.set_result(reply)
        self._emit(request, key, reply, "miss" if caching else "off", form, None, wall)
        return reply

    # --- one call, with retries ---------------------------------------------------

    async def _call(
        self, request: ChatRequest, key: str, started: float, wall: float, outcome: CacheOutcome
    ) -> tuple[ChatReply, SchemaForm]:
        litellm = self._litellm or self._load()
        endpoint = _endpoint(request)
        form = self._schema_form(request)
        secrets: list[str] = [*self.secret_values, *self._secret_parts]
        retries = 0
        sent = 0
        waited = 0.0
        last_reason = ""
        try:
            kwargs = self._kwargs(request, secrets)
            while True:
                broken = self._unreachable.get(endpoint)
                if broken is not None:
                    raise UnreachableError(broken.reason)
                self._set_response_format(kwargs, request, form)
                try:
                    async with self._gate():
                        broken = self._unreachable.get(endpoint)
                        if broken is not None:
                            raise UnreachableError(broken.reason)
                        timeout = float(kwargs["timeout"])
                        pending = self._admit(request, sent)
                        if pending:
                            await _admitted(pending)
                        sent += 1
                        try:
                            async with asyncio.timeout(timeout + 5.0):
                                response = await litellm.acompletion(**kwargs)
                        except TimeoutError:
                            raise _Retryable(f"timed out after {timeout:g}s") from None
                    text = _reply_text(response)
                    if not text.strip():
                        raise _Retryable("the model returned an empty reply")
                    return self._reply(request, response, text, form, retries, started), form
                except _Retryable as exc:
                    last_reason = exc.reason
                    retry_after = exc.retry_after
                except (ModelError, _Refused):
                    raise
                except Exception as exc:
                    if self._schema_rejected(exc, form):
                        self._no_schema.add((request.model, request.api_base))
                        form = "none"
                        retries += 1
                        continue
                    retry_after = self._classify(exc, request, endpoint, secrets)
                    last_reason = _scrub(_describe(exc), secrets)
                if retries >= self.retry.max_retries:
                    raise ModelError(
                        f"model '{request.model}' failed after {retries + 1} attempts: "
                        f"{last_reason}"
                    )
                delay = self.retry.delay(key, retries, retry_after)
                if waited + delay > self.retry.max_total_wait_s:
                    raise ModelError(
                        f"model '{request.model}' failed: {last_reason} (would wait "
                        f"{waited + delay:.1f}s in all, more than the "
                        f"{self.retry.max_total_wait_s:g}s allowed)"
                    )
                retries += 1
                waited += delay
                await self._sleep(delay)
        except ModelError as exc:
            exc.reason = _scrub(exc.reason, secrets)
            exc.args = (exc.reason,)
            exc.requests = sent
            self._emit(
                request, key, None, outcome, form, exc.reason, wall,
                time.perf_counter() - started, retries, sent,
            )
            raise
        except _Refused as refused:
            reason = f"refused before sending: {refused.error}"
            self._emit(
                request, key, None, outcome, form, reason, wall,
                time.perf_counter() - started, retries, sent,
            )
            raise refused.error from None

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

    def _schema_rejected(self, exc: Exception, form: SchemaForm) -> bool:
        """A 400 to a request that carried a schema: ask again without one."""
        return form != "none" and (
            isinstance(exc, self._litellm.BadRequestError) or _status(exc) in (400, 422)
        )

    def _classify(
        self, exc: Exception, request: ChatRequest, endpoint: str, secrets: list[str]
    ) -> float | None:
        """Raise the final `ModelError`, or return the Retry-After (or None) to retry."""
        litellm = self._litellm
        status = _status(exc)
        cause = _root_cause(exc)
        if cause is not None:
            where = request.api_base or f"the {request.model.split('/')[0]} endpoint"
            error = UnreachableError(
                f"cannot reach model '{request.model}' at {where}: {cause}", status=None
            )
            self._unreachable[endpoint] = error
            raise error
        if isinstance(exc, litellm.RateLimitError) or status == 429:
            return _retry_after(exc)
        if isinstance(exc, litellm.Timeout):
            return None
        if isinstance(exc, litellm.BadRequestError) or status in (400, 413, 422):
            raise ModelError(
                f"model '{request.model}' rejected the request: {_scrub(_describe(exc), secrets)}",
                status=status,
            )
        if isinstance(
            exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)
        ) or status in (401, 403):
            hint = f" (is {request.api_key_env} set?)" if request.api_key_env else ""
            raise ModelError(
                f"model '{request.model}' refused the credentials{hint}: "
                f"{_scrub(_describe(exc), secrets)}",
                status=status,
            )
        if isinstance(exc, litellm.NotFoundError) or status == 404:
            raise ModelError(
                f"model '{request.model}' was not found: {_scrub(_describe(exc), secrets)}",
                status=status,
            )
        return None  # 5xx, dropped connection, malformed body, anything else: retry

    # --- request and reply --------------------------------------------------------

    def _gate(self) -> asyncio.Semaphore:
        """The concurrency cap for the running event loop (a client may outlive a loop)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._semaphore_loop = loop
        return self._semaphore

    def _load(self) -> Any:
        self._litellm = load_litellm()
        return self._litellm

    def warm(self) -> None:
        """Import litellm now rather than on the first call (a server does it at start-up)."""
        if self._litellm is None:
            self._load()

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _kwargs(self, request: ChatRequest, secrets: list[str]) -> dict[str, Any]:
        env = self._env()
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "num_retries": 0,
            "max_retries": 0,
            "timeout": self.timeout_s,
        }
        if request.api_base is not None:
            kwargs["api_base"] = request.api_base
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.tools is not None:
            kwargs["tools"] = json.loads(request.tools)
            kwargs["tool_choice"] = "required"
        if request.api_key_env is not None:
            kwargs["api_key"] = _read_env(env, request.api_key_env, request.model, "api_key")
            secrets.append(kwargs["api_key"])
        elif request.api_base is not None:
            kwargs["api_key"] = NO_KEY
        for name, value in request.extra:
            if name == "timeout" and isinstance(value, int | float) and not isinstance(value, bool):
                kwargs["timeout"] = float(value)
            elif name.startswith("env."):
                option = name[4:]
                kwargs[option] = _read_env(env, str(value), request.model, option)
                secrets.append(kwargs[option])
            elif name not in _CLIENT_EXTRA:
                kwargs[name] = value
        return kwargs

    def _schema_form(self, request: ChatRequest) -> SchemaForm:
        if request.json_schema is None or (request.model, request.api_base) in self._no_schema:
            return "none"
        return schema_form(request.model, dict(request.extra).get("structured"))

    @staticmethod
    def _set_response_format(
        kwargs: dict[str, Any], request: ChatRequest, form: SchemaForm
    ) -> None:
        kwargs.pop("response_format", None)
        if form == "none" or request.json_schema is None:
            return
        schema = json.loads(request.json_schema)
        if form == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        else:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            }

    def _reply(
        self,
        request: ChatRequest,
        response: Any,
        text: str,
        form: SchemaForm,
        retries: int,
        started: float,
    ) -> ChatReply:
        usage = getattr(response, "usage", None)
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        if not isinstance(prompt, int):
            prompt = sum(estimate_tokens(m.content) for m in request.messages)
        if not isinstance(completion, int):
            completion = estimate_tokens(text)
        return ChatReply(
            text=text,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=self._cost(request.model, response),
            cached=False,
            latency_s=time.perf_counter() - started,
            retries=retries,
            structured="none" if form == "none" else "schema",
        )

    def _cost(self, model: str, response: Any) -> float | None:
        """Dollars for a reply: 0 for a free model, None where the price is unknown."""
        known = price(model)
        if known is None or known == FREE:
            return None if known is None else 0.0
        hidden = getattr(response, "_hidden_params", None)
        if isinstance(hidden, dict) and isinstance(hidden.get("response_cost"), int | float):
            return float(hidden["response_cost"])  # litellm already priced this reply
        try:
            return float(self._litellm.completion_cost(completion_response=response))
        except Exception:
            return None

    @staticmethod
    def _from_cache(hit: CachedReply, started: float) -> ChatReply:
        return ChatReply(
            text=hit.text,
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
            cost_usd=None if hit.cost_usd is None else 0.0,
            cached=True,
            latency_s=time.perf_counter() - started,
            retries=0,
            structured=hit.structured,
        )

    def _emit(
        self,
        request: ChatRequest,
        key: str,
        reply: ChatReply | None,
        outcome: CacheOutcome,
        form: SchemaForm,
        error: str | None,
        wall: float,
        latency_s: float = 0.0,
        retries: int = 0,
        requests: int = 0,
    ) -> None:
        if not self.sinks:
            return
        record = CallTrace(
            node=request.node,
            purpose=request.purpose,
            sample=request.sample,
            model=request.model,
            api_base="***" if request.api_base in self.secret_values else request.api_base,
            key=key,
            messages=request.messages,
            text=None if reply is None else reply.text,
            prompt_tokens=0 if reply is None else reply.prompt_tokens,
            completion_tokens=0 if reply is None else reply.completion_tokens,
            cost_usd=None if reply is None else reply.cost_usd,
            latency_s=latency_s if reply is None else reply.latency_s,
            cache=outcome,
            retries=retries if reply is None else reply.retries,
            schema_form=form,
            structured="none" if reply is None else reply.structured,
            error=error,
            started_at=wall,
            requests=requests if reply is None else (0 if reply.cached else reply.retries + 1),
        )
        for sink in self.sinks:
            sink(record)


# --- helpers --------------------------------------------------------------------


async def _admitted(pending: list[Awaitable[None]]) -> None:
    for waiting in pending:
        try:
            await waiting
        except Exception as exc:
            raise _Refused(exc) from exc


def _endpoint(request: ChatRequest) -> str:
    return request.api_base or f"provider:{request.model.split('/')[0]}"


def _read_env(env: Mapping[str, str], name: str, model: str, option: str) -> str:
    value = env.get(name)
    if value is None or value == "":
        raise ModelError(
            f"model '{model}' needs the environment variable {name} (for its {option}), "
            "which is not set"
        )
    return value


def _reply_text(response: Any) -> str:
    """The reply's content, or its first tool call in the form `adf.llm.toolcall` reads."""
    try:
        message = response.choices[0].message
        content = message.content
    except (AttributeError, IndexError, TypeError):
        raise _Retryable("the reply had no message") from None
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        name = getattr(function, "name", None)
        if isinstance(name, str):
            arguments = getattr(function, "arguments", None)
            return encode_tool_call(name, arguments if isinstance(arguments, str) else "")
    return content if isinstance(content, str) else ""


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


_REFUSED = (ConnectionRefusedError, socket.gaierror)


def _root_cause(exc: BaseException) -> str | None:
    """'connection refused' or 'unknown host' when the chain ends in one, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "unknown host"
        text = str(current)
        if "Connection refused" in text or "Connect call failed" in text:
            return "connection refused"
        current = current.__cause__ or current.__context__
    return None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for prefix in ("litellm.", "OpenAIException - "):
        text = text.replace(prefix, "")
    return text[:300]


def _secret_parts(url: str) -> list[str]:
    """The pieces of a secret URL a provider may quote apart from the whole: the user info,
    the query and its values, and long path segments (a provider may rebuild the URL)."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.query] if parts.query else []
    found += [value for _, value in parse_qsl(parts.query)]
    if "@" in parts.netloc:
        found.append(parts.netloc.rsplit("@", 1)[0])
    found += [segment for segment in parts.path.split("/") if len(segment) >= 12]
    return sorted({p for p in found if len(p) >= 6}, key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret != NO_KEY and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text

