"""Whether a failed model request is tried again, and after how long.

Takes what a request to litellm raised; gives `classify`, which either
raises the call's final `ModelError` (a rejected request, refused
credentials, an unknown model, or an `UnreachableError` for a server that
cannot be reached at all) or returns the wait the server asked for
(`Retry-After`, or None) when the failure is worth another try: 429, 5xx,
timeouts, dropped connections, malformed replies, anything unknown.
`Retryable` is raised by the client itself for failures litellm does not
see (a timeout, an empty reply). `RetryPolicy` says how often and how long
to wait. `schema_rejected` spots a provider that refuses a reply schema.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import attrs

from adf.llm.protocol import ChatRequest, ModelError
from adf.llm.secrets import scrub


class UnreachableError(ModelError):
    """The model's server cannot be reached at all (refused, unknown host)."""


class Retryable(Exception):
    """A failure worth another try; `retry_after` is the wait a server asked for."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


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

    def wait(
        self, key: str, retries: int, waited: float, retry_after: float | None,
        model: str, reason: str,
    ) -> float:
        """How long to wait before retry number `retries + 1` of a call that has waited
        `waited` seconds so far; the call's final `ModelError` when none is left."""
        if retries >= self.max_retries:
            raise ModelError(f"model '{model}' failed after {retries + 1} attempts: {reason}")
        delay = self.delay(key, retries, retry_after)
        if waited + delay > self.max_total_wait_s:
            raise ModelError(
                f"model '{model}' failed: {reason} (would wait {waited + delay:.1f}s in all, "
                f"more than the {self.max_total_wait_s:g}s allowed)"
            )
        return delay


def schema_rejected(litellm: Any, exc: Exception) -> bool:
    """A 400 (or 422) that a request carrying a reply schema got: ask again without one
    (for an error in a 200 reply, only one its type calls a rejected request)."""
    if _failure(litellm, exc) != "rejected":
        return False
    return reply_error(exc) is not None or http_status(exc) != 413  # too large: not the schema


def classify(
    litellm: Any, exc: Exception, request: ChatRequest, secrets: Iterable[str]
) -> float | None:
    """Raise the final `ModelError`, or return the Retry-After (or None) to retry."""
    code = status(exc)
    cause = root_cause(exc)
    if cause is not None:
        where = request.api_base or f"the {request.model.split('/')[0]} endpoint"
        raise UnreachableError(
            f"cannot reach model '{request.model}' at {where}: {cause}", status=None
        )
    failure = _failure(litellm, exc)
    if failure == "rate limited":
        return retry_after(exc)
    said = describe(exc, secrets)
    if failure == "rejected":
        raise ModelError(f"model '{request.model}' rejected the request: {said}", status=code)
    if failure == "credentials":
        hint = f" (is {request.api_key_env} set?)" if request.api_key_env else ""
        raise ModelError(
            f"model '{request.model}' refused the credentials{hint}: {said}", status=code
        )
    if failure == "not found":
        raise ModelError(f"model '{request.model}' was not found: {said}", status=code)
    return None  # 5xx, timeout, dropped connection, malformed body, anything else: retry


_Failure = Literal["rate limited", "rejected", "credentials", "not found", "retry"]
_STATUS_FAILURES: dict[int, _Failure] = {
    429: "rate limited", 400: "rejected", 413: "rejected", 422: "rejected",
    401: "credentials", 403: "credentials", 404: "not found",
}


def _failure(litellm: Any, exc: Exception) -> _Failure:
    """What a failed call's exception means: an error in a 200 reply by its own code or type
    (`_by_reply`), else the HTTP status where there is one (`_by_status`), else litellm's
    exception class (`_by_class`)."""
    error = reply_error(exc)
    if error is not None:
        return _by_reply(error)
    return _by_status(http_status(exc)) or _by_class(litellm, exc)


def _by_status(code: int | None) -> _Failure | None:
    """What an HTTP error status means (None without one). The status decides where there is
    one: litellm's exception class for a status depends on its route and on how the server
    worded the error (a 503 whose body says "invalid_request_error" is a `BadRequestError`
    on its generic HTTP route, a `ServiceUnavailableError` through the OpenAI SDK)."""
    if code is None:
        return None
    return _STATUS_FAILURES.get(code, "retry")


def _by_reply(error: dict[str, Any]) -> _Failure:
    """What an error in a 200 reply means: by its numeric `code` where it has one, else by
    its type (an "invalid_request_error" is a rejected request; a "server_error" or any
    other type is retried)."""
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        return _STATUS_FAILURES.get(code, "retry")
    return "rejected" if error.get("type") == "invalid_request_error" else "retry"


_REPLY_TRANSFORM = "convert_to_model_response_object"


def reply_error(exc: BaseException) -> dict[str, Any] | None:
    """The `error` object of a reply whose status was 200 but whose body was `{"error": ...}`,
    else None. litellm raises it from its reply transform (`convert_to_model_response_object`,
    on both routes) with a status of its own that differs by route (400 on its generic route,
    422 through the SDK), and drops the error's type, so it is read from that frame."""
    for current in chain(exc):
        tb = current.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name == _REPLY_TRANSFORM:
                body = tb.tb_frame.f_locals.get("response_object")
                error = body.get("error") if isinstance(body, dict) else None
                return error if isinstance(error, dict) else None
            tb = tb.tb_next
    return None


def _by_class(litellm: Any, exc: Exception) -> _Failure:
    """What a failure without an HTTP error status means, by litellm's exception class."""
    if isinstance(exc, litellm.RateLimitError):
        return "rate limited"
    if isinstance(exc, litellm.Timeout):
        return "retry"
    if isinstance(exc, litellm.BadRequestError):
        return "rejected"
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return "credentials"
    if isinstance(exc, litellm.NotFoundError):
        return "not found"
    return "retry"


def status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, if any."""
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def http_status(exc: BaseException) -> int | None:
    """The HTTP error status (400 or more) an exception carries, if any (litellm gives a
    malformed 200 reply's error the status 200)."""
    code = status(exc)
    return code if code is not None and code >= 400 else None


def root_cause(exc: BaseException) -> str | None:
    """'connection refused' or 'unknown host' when the chain ends in one, else None."""
    for current in chain(exc):
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "unknown host"
        text = str(current)
        if "Connection refused" in text or "Connect call failed" in text:
            return "connection refused"
    return None


def dropped_connection(exc: BaseException) -> str | None:
    """What aiohttp said when the chain holds a connection it lost (not a timeout), else None.

    The SDK's aiohttp transport reports every aiohttp connection error as a connect timeout,
    so litellm raises its `Timeout` for a server that closed the connection; the reason names
    what happened instead.
    """
    for current in chain(exc):
        if type(current).__module__.startswith("aiohttp") and not isinstance(current, TimeoutError):
            return str(current).strip() or type(current).__name__
    return None


def malformed(exc: BaseException) -> str | None:
    """What the JSON parser said when the chain holds a reply that was not JSON, else None
    (litellm gives it the status 500 through the OpenAI SDK, 200 on its generic route)."""
    for current in chain(exc):
        if isinstance(current, json.JSONDecodeError):
            return str(current)
    return None


def chain(exc: BaseException) -> Iterator[BaseException]:
    """An exception and its causes (or contexts), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def retry_after(exc: BaseException) -> float | None:
    """Seconds a 429 asked to wait (`retry-after-ms`, `retry-after` as seconds or a date)."""
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


def describe(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The first line of an exception's text, without litellm's prefixes, with every secret
    scrubbed (`adf.llm.secrets.scrub`) and then cut to 300 characters (cutting first could
    leave part of a secret a server quoted past the cut).

    A dropped connection, a reply that is not JSON and a timeout are named as such
    (`dropped_connection`, `malformed`). An HTTP error (a status of 400 or more) reads
    "HTTP <status>: " and the server's message, the same on both of litellm's routes
    (`adf.llm.connections`): litellm's exception class for a status depends on its route,
    and its generic HTTP route quotes the server's error body where the OpenAI SDK gives
    its message. A traceback litellm appends to the line is cut.
    """
    return scrub(_reason(exc), secrets)[:300]


def _reason(exc: BaseException) -> str:
    """`describe`'s text before secrets are scrubbed and it is cut."""
    dropped = dropped_connection(exc)
    if dropped is not None:
        return f"Connection error: {dropped}"
    broken = malformed(exc)
    if broken is not None:
        return f"the reply was not JSON: {broken}"
    if any(isinstance(cause, TimeoutError) for cause in chain(exc)):
        return "the request timed out"
    error = reply_error(exc)
    if error is not None:
        return f"the reply was an error ({error.get('type')}): {error.get('message')}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # litellm appends the traceback of a reply it could not read to the same line
    text = text.split("Traceback (most recent call last)")[0].rstrip(" :") or type(exc).__name__
    for prefix in ("litellm.", "OpenAIException - "):
        text = text.replace(prefix, "")
    code = http_status(exc)
    if code is None:
        return text
    return f"HTTP {code}: {server_message(text)}"


_LITELLM_PREFIX = re.compile(r"^(?:\w*(?:Error|Exception|Timeout)(?: Error)?(?::| -) )+")


def server_message(text: str) -> str:
    """The message of a litellm error's text: its class-name and provider prefixes removed,
    and an OpenAI-style error body (`{"error": {"message": ...}}`) read for its message."""
    text = _LITELLM_PREFIX.sub("", text)
    if not text.startswith("{"):
        return text
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        return text
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else text
