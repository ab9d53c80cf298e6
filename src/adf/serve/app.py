"""The ASGI application of `adfc serve`: one workflow behind a small JSON API.

Takes an `adf.Workflow` and `ServeSettings`; gives a Starlette application:
`POST /v1/call` (a JSON object of the inputs -> outputs and usage, the trace
with `?trace=true`), `POST /v1/batch` (a JSON array of inputs -> one result
or error per item, in order), `GET /v1/workflow` (types, the trained values
served, plan hash), `GET /openapi.json`, `GET /health`. The workflow's
models, cache and local server open once at start-up and close at shutdown.
At most `max_concurrent` calls run at once; up to `max_queue` more wait,
beyond that a request gets 503. Each request has `request_timeout_s` in all.
Every failure is a JSON body `{"error": {"code", "message", ...}}` with the
status of `STATUS`; every response carries `X-Adf-Plan-Hash`. Messages come
from adf (model errors are scrubbed of keys by the client); request bodies
and environment values are never echoed into responses or logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adf.api import errors as codes
from adf.workflow.signature import InputError, Problem

if TYPE_CHECKING:
    from adf.api.flow import Session, Workflow
    from adf.api.result import CallResult

log = logging.getLogger("adf.serve")

INVALID_JSON = "invalid_json"
BODY_TOO_LARGE = "body_too_large"
BATCH_TOO_LARGE = "batch_too_large"
OVERLOADED = "overloaded"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
SERVER_ERROR = "server_error"

STATUS: dict[str, int] = {
    INVALID_JSON: 400,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    BODY_TOO_LARGE: 413,
    BATCH_TOO_LARGE: 413,
    codes.INVALID_INPUT: 422,
    SERVER_ERROR: 500,
    codes.FUNCTION_FAILED: 500,
    codes.CALL_FAILED: 500,
    codes.MODEL_FAILED: 502,
    codes.REPLY_UNREADABLE: 502,
    OVERLOADED: 503,
    codes.MODEL_TIMEOUT: 504,
    codes.REQUEST_TIMEOUT: 504,
}
DESCRIPTIONS: dict[str, str] = {**codes.DESCRIPTIONS, **{
    INVALID_JSON: "the request body is not JSON of the expected shape",
    BODY_TOO_LARGE: "the request body is larger than the server accepts",
    BATCH_TOO_LARGE: "the batch has more items than the server accepts",
    OVERLOADED: "too many requests are waiting; retry later",
    NOT_FOUND: "no such endpoint",
    METHOD_NOT_ALLOWED: "the endpoint does not take this method",
    SERVER_ERROR: "a bug in adf (the server log has the details)",
}}


@attrs.frozen
class ServeSettings:
    max_concurrent: int = 64  # calls running at once
    max_queue: int = 1024  # calls waiting for a slot before 503
    request_timeout_s: float = 120.0  # a whole request, waiting included
    max_body_bytes: int = 1_000_000
    max_batch: int = 256


class _Failure(Exception):
    def __init__(self, code: str, message: str, *, node: str | None = None,
                 problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.node, self.problems = code, message, node, problems


class Service:
    """The running state: the open workflow session and the admission gate."""

    def __init__(self, workflow: Workflow, settings: ServeSettings) -> None:
        self.workflow = workflow
        self.settings = settings
        self.plan_hash = workflow.plan_hash
        self.session: Session | None = None
        self.gate = asyncio.Semaphore(settings.max_concurrent)
        self.waiting = 0

    async def admit(self, work: Any) -> Any:
        """Run `work` (a coroutine) in a free slot, within the request timeout."""
        if self.waiting >= self.settings.max_queue + self.settings.max_concurrent:
            work.close()
            raise _Failure(OVERLOADED, f"more than {self.settings.max_queue} requests waiting")
        self.waiting += 1
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                async with self.gate:
                    return await work
        except TimeoutError:
            raise _Failure(codes.REQUEST_TIMEOUT, "the request took longer than "
                           f"{self.settings.request_timeout_s:g}s") from None
        finally:
            self.waiting -= 1


def build_app(workflow: Workflow, settings: ServeSettings | None = None) -> Starlette:
    service = Service(workflow, settings or ServeSettings())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with workflow.session() as session:
            await session.warm()
            service.session = session
            log.info("serving %s (plan %s)", workflow.path, service.plan_hash[:12])
            yield
            service.session = None

    async def call(request: Request) -> Response:
        inputs = await _json_body(request, service.settings.max_body_bytes)
        if not isinstance(inputs, dict):
            raise _Failure(INVALID_JSON, "the body must be a JSON object of the inputs")
        result = await service.admit(_session(service).call(inputs))
        if result.error is not None:
            raise _failure_of(result)
        return _reply(service, _result_json(result, _wants_trace(request)))

    async def batch(request: Request) -> Response:
        items = await _json_body(request, service.settings.max_body_bytes)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _Failure(INVALID_JSON, "the body must be a JSON array of input objects")
        if len(items) > service.settings.max_batch:
            raise _Failure(BATCH_TOO_LARGE, f"{len(items)} items; at most "
                           f"{service.settings.max_batch} per batch")
        results = await service.admit(_session(service).batch(items))
        trace = _wants_trace(request)
        from adf.llm.usage import Usage

        total = sum((r.usage for r in results), Usage())
        return _reply(service, {
            "results": [_error_json(_failure_of(r)) if r.error is not None
                        else _result_json(r, trace) for r in results],
            "usage": total.to_json()})

    async def describe(_request: Request) -> Response:
        sig = workflow.signature
        return _reply(service, {
            "workflow": workflow.path, "plan_hash": service.plan_hash,
            "inputs": {n: str(t) for n, t in sig.inputs},
            "outputs": {n: str(t) for n, t in sig.outputs},
            "trained": list(workflow.trained), "params": workflow.params()})

    async def openapi(_request: Request) -> Response:
        from adf import __version__
        from adf.serve.openapi import openapi_document

        errors: dict[int, list[str]] = {}
        for code, status in STATUS.items():
            if code not in (NOT_FOUND, METHOD_NOT_ALLOWED):
                errors.setdefault(status, []).append(code)
        document = openapi_document(
            workflow.signature, title=workflow.path, version=__version__,
            plan_hash=service.plan_hash, errors={s: tuple(c) for s, c in errors.items()},
            descriptions=DESCRIPTIONS)
        return _reply(service, document)

    async def health(_request: Request) -> Response:
        ready = service.session is not None
        return _reply(service, {"status": "ok" if ready else "starting",
                                "plan_hash": service.plan_hash}, 200 if ready else 503)

    async def on_failure(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Failure)
        return _reply(service, _error_json(exc), STATUS[exc.code])

    async def on_http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code, SERVER_ERROR)
        return _reply(service, _error_json(_Failure(code, str(exc.detail))), exc.status_code)

    async def on_input(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        failure = _Failure(codes.INVALID_INPUT, str(exc), problems=exc.problems)
        return _reply(service, _error_json(failure), 422)

    async def on_bug(_request: Request, exc: Exception) -> Response:
        log.error("internal error: %s", type(exc).__name__)
        failure = _Failure(SERVER_ERROR, "internal error (a bug in adf)")
        return _reply(service, _error_json(failure), 500)

    routes = [
        Route("/v1/call", call, methods=["POST"]),
        Route("/v1/batch", batch, methods=["POST"]),
        Route("/v1/workflow", describe, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        _Failure: on_failure, HTTPException: on_http, InputError: on_input, Exception: on_bug,
    })


def _session(service: Service) -> Session:
    if service.session is None:
        raise _Failure(OVERLOADED, "the server is starting or stopping")
    return service.session


async def _json_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Failure(BODY_TOO_LARGE, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Failure(BODY_TOO_LARGE, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except RecursionError:
        raise _Failure(INVALID_JSON, "the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise _Failure(INVALID_JSON, f"the body is not valid JSON{where}") from None


def _wants_trace(request: Request) -> bool:
    return request.query_params.get("trace", "").lower() in ("1", "true", "yes")


def _failure_of(result: CallResult) -> _Failure:
    assert result.error is not None
    return _Failure(result.error.code, result.error.message, node=result.error.node)


def _result_json(result: CallResult, trace: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"outputs": dict(result.outputs), "usage": result.usage.to_json()}
    if trace:
        data["trace"] = result.trace_json()
    return data


def _error_json(failure: _Failure) -> dict[str, Any]:
    error: dict[str, Any] = {"code": failure.code, "message": failure.message}
    if failure.node is not None:
        error["node"] = failure.node
    if failure.problems:
        error["problems"] = [{"path": list(p.path), "message": p.message}
                             for p in failure.problems]
    return {"error": error}


def _reply(service: Service, data: Mapping[str, Any], status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str).encode()
    return Response(body, status, media_type="application/json",
                    headers={"X-Adf-Plan-Hash": service.plan_hash})
