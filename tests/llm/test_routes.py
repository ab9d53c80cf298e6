"""litellm's generic HTTP route and the OpenAI SDK route send the same requests and classify
failures the same: what the fake server receives, the replies made of its answers, and the
errors of every fault, compared call by call (`adf.llm.connections`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest
from llm_helpers import FAST, ask, dead_port

from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.llm.connections import GENERIC_SAME, ROUTE_ENV, route
from adf.llm.protocol import ChatReply, ChatRequest, Message, ModelError
from adf.llm.provider import load_litellm, quiet_unstarted_calls
from adf.testing.fake_server import FakeReply, FakeServer, Fault, FaultPlan, last_user, tool_reply

ROUTES = ("generic", "sdk")
DATA = Path(__file__).parent / "data"
SCHEMA = json.dumps({
    "type": "object",
    "properties": {"answer": {"type": "string"}, "steps": {"type": "array",
                                                           "items": {"type": "integer"}}},
    "required": ["answer", "steps"],
    "additionalProperties": False,
})
TOOLS = json.dumps([{"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                   "required": ["expression"], "additionalProperties": False}}}])
SAMPLING = (("seed", 7), ("stop", ["\n\n", "END"]), ("top_p", 0.9), ("presence_penalty", 0.1),
            ("frequency_penalty", 0.2), ("n", 1), ("logprobs", True), ("top_logprobs", 2),
            ("logit_bias", {"42": -1}), ("user", "u-1"), ("max_completion_tokens", 40))
DEMO = (Message("system", "Answer briefly. Ünïcode “quotes” ok."), Message("user", "2+2?"),
        Message("assistant", "4"), Message("user", "3+3?"))


def _client(chosen: str, timeout_s: float = 5.0, environ: dict[str, str] | None = None,
            **kwargs: Any) -> LiteLLMClient:
    """A client whose environment (`environ`, and `ROUTE_ENV` for the route) is its own."""
    environ = {**(environ or {}), ROUTE_ENV: "sdk" if chosen == "sdk" else ""}
    kwargs.setdefault("retry", FAST)
    return LiteLLMClient(cache=None, timeout_s=timeout_s, environ=environ, **kwargs)


def _requests(base: str) -> list[ChatRequest]:
    """One of each request shape adf sends to an OpenAI-compatible server."""
    return [
        ask(base, "plain"),
        ask(base, "capped", temperature=0.0, max_tokens=32),
        ChatRequest(model="openai/fake", messages=DEMO, api_base=base, temperature=0.3),
        ask(base, "schema", json_schema=SCHEMA, extra=(("structured", "json_schema"),)),
        ask(base, "object", json_schema=SCHEMA, extra=(("structured", "json_object"),)),
        ask("http://x", "local", model="openai/local", json_schema=SCHEMA),  # api_base below
        ask(base, "sampling", temperature=1.0, max_tokens=16, extra=SAMPLING),
        ask(base, "tools", tools=TOOLS),
        ask(base, "timeout option", extra=(("timeout", 4),)),
    ]


def _answer(request: dict[str, Any]) -> str | FakeReply:
    if request.get("tools"):
        return tool_reply("calculator", expression="2+3")
    if request.get("response_format"):
        return FakeReply('{"answer": "4", "steps": [1, 2]}', cached_tokens=3)
    return FakeReply("echo " + last_user(request), finish_reason="length", cached_tokens=2)


def _run(chosen: str, requests: list[ChatRequest]) -> tuple[list[ChatReply], list[Any], list[Any]]:
    client = _client(chosen)
    with FakeServer(_answer) as srv:
        async def all_of_them() -> list[ChatReply]:
            replies = [await client.complete(attrs.evolve(r, api_base=srv.base_url))
                       for r in requests]
            await client.aclose()
            return replies

        replies = asyncio.run(all_of_them())
        return replies, srv.requests, srv.headers


def test_every_request_shape_reaches_the_server_the_same_on_both_routes() -> None:
    requests = _requests("http://127.0.0.1:1/v1")
    (generic, generic_bodies, generic_headers), (sdk, sdk_bodies, sdk_headers) = (
        _run(chosen, requests) for chosen in ROUTES)
    assert len(generic_bodies) == len(sdk_bodies) == len(requests)
    for sent_generic, sent_sdk in zip(generic_bodies, sdk_bodies, strict=True):
        assert sent_generic == sent_sdk
    # the replies made of the answers: text, tool call, tokens, cost, schema form
    for mine, theirs in zip(generic, sdk, strict=True):
        assert attrs.evolve(mine, latency_s=0.0) == attrs.evolve(theirs, latency_s=0.0)
    assert [_compared(h) for h in generic_headers] == [_compared(h) for h in sdk_headers]
    assert all("authorization" in h for h in generic_headers)
    # what each route was: the OpenAI SDK names itself in its headers, litellm's handler not
    sdk_marked = ["x-stainless-lang" in h for h in generic_headers]
    assert sdk_marked == ["tools" in b for b in generic_bodies]  # only tools took the SDK
    assert all("x-stainless-lang" in h for h in sdk_headers)
    assert sdk_bodies[3]["response_format"]["json_schema"]["strict"] is True
    assert sdk_bodies[7]["tools"] == json.loads(TOOLS)  # additionalProperties kept


def _compared(headers: dict[str, str]) -> dict[str, str]:
    """The headers a server acts on: all but the client's names for itself, what it accepts,
    the host (each run has its own server) and the length (the bodies are compared as JSON;
    litellm's handler writes it without spaces)."""
    own = ("user-agent", "accept", "accept-encoding", "host", "content-length")
    return {k.lower(): v for k, v in headers.items()
            if k.lower() not in own and not k.lower().startswith("x-stainless-")}


def test_an_organisation_in_the_environment_reaches_the_server_on_either_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The OpenAI SDK sends `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID` as headers, litellm's
    handler not: with either set, every call keeps the SDK route."""
    monkeypatch.setenv("OPENAI_ORG_ID", "org-route-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-route-1")
    (_, _, generic), (_, _, sdk) = (_run(chosen, [ask("http://x", "hi")]) for chosen in ROUTES)
    assert [_compared(h) for h in generic] == [_compared(h) for h in sdk]
    assert generic[0]["openai-organization"] == "org-route-1"
    assert generic[0]["openai-project"] == "proj-route-1"


def test_the_cases_checked_above_are_the_options_the_generic_route_admits() -> None:
    sent = {name for name, _ in SAMPLING} | {
        "model", "messages", "num_retries", "max_retries", "timeout", "api_base", "api_key",
        "litellm_call_id", "response_format", "temperature", "max_tokens"}
    assert sent == GENERIC_SAME


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "generic"),
        ({"model": "openai/gpt-4o-mini"}, "sdk"),  # litellm knows it: per-model rules
        ({"model": "openai/o3-mini"}, "sdk"),
        ({"tools": []}, "sdk"),
        ({"reasoning_effort": "low"}, "sdk"),  # not checked equal: the SDK route
        ({"organization": "org"}, "litellm"),
        ({"api_base": None}, "litellm"),  # a hosted provider: litellm's own path
        ({"model": "anthropic/claude-3-5-haiku"}, "litellm"),
        # litellm's o-series, gpt-5 and gpt-audio rules go by the name, in its table or not
        ({"model": "openai/openai/gpt-5-mini"}, "sdk"),
        ({"model": "openai/gpt-5-nano-ft"}, "sdk"),
        ({"model": "openai/openai/o4-mini"}, "sdk"),
        ({"model": "openai/gpt-audio"}, "sdk"),
        ({"model": "openai/Qwen/Qwen3-8B"}, "generic"),
        ({"model": "openai/llama3:8b"}, "generic"),
        ({"model": "openai/o1-like"}, "generic"),
    ],
)
def test_which_calls_take_which_route(kwargs: dict[str, Any], expected: str) -> None:
    call = {"model": "openai/fake", "messages": [], "api_base": "http://127.0.0.1:1/v1",
            "api_key": "k", "timeout": 5.0, **kwargs}
    call = {k: v for k, v in call.items() if v is not None}
    assert route(call, {}) == expected
    keeps_sdk = "litellm" if expected == "litellm" else "sdk"
    assert route(call, {ROUTE_ENV: "sdk"}, {}) == keeps_sdk
    assert route(call, {}, {"https_proxy": "http://proxy:3128"}) == keeps_sdk  # the SDK's only
    for name in ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "SSL_CERTIFICATE"):
        assert route(call, {}, {name: "x"}) == keeps_sdk


def test_an_api_base_model_goes_the_generic_route_by_default() -> None:
    client = LiteLLMClient(cache=None, retry=FAST, timeout_s=5.0)
    with FakeServer("ok") as srv:
        assert asyncio.run(client.complete(ask(srv.base_url))).text == "ok"
        headers = srv.headers[0]
    assert "x-stainless-lang" not in headers  # not sent through the OpenAI SDK


def test_the_client_environment_chooses_the_route() -> None:
    with FakeServer("ok") as srv:
        for environ in ({ROUTE_ENV: "sdk"}, {}):
            client = LiteLLMClient(cache=None, retry=FAST, timeout_s=5.0, environ=environ)
            assert asyncio.run(client.complete(ask(srv.base_url))).text == "ok"
        headers = srv.headers
    assert ["x-stainless-lang" in h for h in headers] == [True, False]


@pytest.mark.parametrize("chosen", ROUTES)
def test_a_key_quoted_past_the_cut_of_a_reason_is_scrubbed_whole(chosen: str) -> None:
    key = "sk-live-0123456789abcdefghij"
    quoted = "x" * 262 + " bad key " + key
    client = _client(chosen, environ={"ROUTE_KEY": key})
    with FakeServer(lambda _: FakeReply(quoted, status=401)) as srv, \
            pytest.raises(ModelError) as err:
        asyncio.run(client.complete(ask(srv.base_url, api_key_env="ROUTE_KEY")))
    assert key[:10] not in err.value.reason
    assert "bad key ***" in err.value.reason


@contextlib.contextmanager
def _chat_server(tls: bool, first: tuple[object, ...] = ()) -> Iterator[tuple[str, list[str]]]:
    """A chat server (over TLS with a self-signed certificate): its base URL and the paths
    posted to, the first answered with the bodies of `first` (status 200), then "hi"."""
    posted: list[str] = []
    bodies = list(first)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            posted.append(self.path)
            out = json.dumps(bodies.pop(0)).encode() if bodies else json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                              "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                  "role": "assistant", "content": "hi"}}]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(DATA / "selfsigned-cert.pem", DATA / "selfsigned-key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/v1", posted
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("chosen", ROUTES)
def test_both_routes_verify_tls_whatever_ssl_verify_says(
    chosen: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_VERIFY", "False")
    monkeypatch.setattr(load_litellm(), "ssl_verify", False)
    client = _client(chosen, retry=RetryPolicy(max_retries=0))
    with _chat_server(tls=True) as (base, posted), pytest.raises(ModelError) as err:
        asyncio.run(client.complete(ask(base)))
    assert posted == []  # the self-signed certificate was refused before anything was sent
    assert "certificate" in err.value.reason.lower()


def _status_echo(request: dict[str, Any]) -> FakeReply:
    """An OpenAI-style error (type "invalid_request_error") with the status the user asks for,
    quoting the key."""
    return FakeReply(f"failed, key sk-route-secret {last_user(request)}",
                     status=int(last_user(request)))


@attrs.frozen
class Outcome:
    reason: str  # the reply's text, or the call's reason (its endpoint as BASE)
    requests: int | None
    status: int | None


def _failures(chosen: str) -> list[Outcome]:
    """What every kind of failure ends in on one route."""
    key = {"ROUTE_KEY": "sk-route-secret"}
    client = _client(chosen, environ=key)
    outcomes: list[Outcome] = []

    def call(base: str, text: str, count: bool = True) -> None:
        request = ask(base, text, api_key_env="ROUTE_KEY")
        try:
            reply = asyncio.run(client.complete(request))
        except ModelError as exc:
            outcomes.append(Outcome(exc.reason.replace(base, "BASE"),
                                    exc.requests if count else None, exc.status))
        else:
            outcomes.append(Outcome(reply.text, reply.retries if count else None, None))

    with FakeServer(_status_echo) as srv:
        for code in (400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503):
            call(srv.base_url, str(code))
    for fault in (Fault("429", retry_after=0.01), Fault("500"), Fault("malformed"),
                  Fault("empty"), Fault("disconnect")):
        with FakeServer("ok", faults=FaultPlan(at={0: fault})) as srv:
            call(srv.base_url, "once")
        with FakeServer("ok", faults=FaultPlan(rate=1.0, kinds=(fault.kind,))) as srv:
            call(srv.base_url, "always")
    call(f"http://127.0.0.1:{dead_port()}/v1", "refused")
    client = _client(chosen, timeout_s=1.0, environ=key)
    # a timeout, then an answer (how many tries it took is the machine's load, not the route's)
    with FakeServer("ok", faults=FaultPlan(at={0: Fault("timeout", delay_s=30.0)})) as srv:
        call(srv.base_url, "late", count=False)
    with FakeServer("ok", faults=FaultPlan(rate=1.0, kinds=("timeout",))) as srv:
        call(srv.base_url, "never")  # every attempt times out
    return outcomes


def test_failures_classify_the_same_on_both_routes() -> None:
    generic, sdk = (_failures(chosen) for chosen in ROUTES)
    assert generic == sdk  # final or retried, after as many requests, with the same reason
    reasons = [o.reason for o in generic]
    assert "model 'openai/fake' rejected the request: HTTP 400: failed, key *** 400" in reasons
    assert "model 'openai/fake' failed after 5 attempts: HTTP 503: failed, key *** 503" in reasons
    assert any("the reply was not JSON" in r for r in reasons)
    assert reasons[-1] == "model 'openai/fake' failed after 5 attempts: the request timed out"
    assert not any("sk-route-secret" in r for r in reasons)


def test_an_unstarted_provider_call_of_either_route_is_not_reported() -> None:
    """A cancelled run drops litellm's provider coroutine unstarted (nothing was sent); its
    name differs per route, and both are silenced, nothing else."""
    load_litellm()
    from litellm.llms.custom_httpx.llm_http_handler import BaseLLMHTTPHandler
    from litellm.llms.openai.openai import OpenAIChatCompletion

    routes = ((OpenAIChatCompletion, "acompletion"), (BaseLLMHTTPHandler, "async_completion"))
    assert all(callable(getattr(cls, method, None)) for cls, method in routes)  # still litellm's
    names = [f"{cls.__name__}.{method}" for cls, method in routes]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_unstarted_calls()
        for name in [*names, "mine.run"]:
            warnings.warn(f"coroutine '{name}' was never awaited", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["coroutine 'mine.run' was never awaited"]



@pytest.mark.parametrize("chosen", ROUTES)
def test_a_base_given_with_its_chat_path_is_posted_to_once(chosen: str) -> None:
    client = _client(chosen)
    with _chat_server(tls=False) as (base, posted):
        for suffix in ("", "/", "/chat/completions", "/chat/completions/"):
            assert asyncio.run(client.complete(ask(base + suffix))).text == "hi"
    assert posted == ["/v1/chat/completions"] * 4


@pytest.mark.parametrize("chosen", ROUTES)
def test_a_base_with_a_query_string_is_refused_before_anything_is_sent(chosen: str) -> None:
    client = _client(chosen)
    with _chat_server(tls=False) as (base, posted), pytest.raises(ModelError) as err:
        asyncio.run(client.complete(ask(base + "?token=s3cret-token")))
    assert posted == []
    assert "query string" in err.value.reason
    assert "s3cret" not in err.value.reason


def _reply_error(kind: str) -> dict[str, Any]:
    return {"error": {"message": f"{kind} happened", "type": kind}}


@pytest.mark.parametrize("chosen", ROUTES)
def test_an_error_in_a_200_reply_is_retried_or_final_by_its_type(chosen: str) -> None:
    client = _client(chosen)
    first = (_reply_error("server_error"), _reply_error("server_error"))
    with _chat_server(tls=False, first=first) as (base, posted):
        request = ask(base, json_schema=SCHEMA, extra=(("structured", "json_schema"),))
        assert asyncio.run(client.complete(request)).retries == 2
        # a server error is no refusal of the schema: the next call still sends it
        assert asyncio.run(client.complete(ask(base, "again", json_schema=SCHEMA))).text == "hi"
    assert len(posted) == 4
    assert client._no_schema == set()
    with _chat_server(tls=False, first=(_reply_error("invalid_request_error"),)) as (
            base, posted), pytest.raises(ModelError) as err:
        asyncio.run(client.complete(ask(base)))
    assert len(posted) == 1
    assert err.value.reason == ("model 'openai/fake' rejected the request: the reply was an "
                                "error (invalid_request_error): invalid_request_error happened")
