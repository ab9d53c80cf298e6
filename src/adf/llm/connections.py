"""How a call reaches an OpenAI-compatible endpoint, and the HTTP clients adf keeps for it.

Takes the keyword arguments of one `litellm.acompletion` call (built by
`adf.llm.payload`); `route` says which of litellm's paths it takes, and
`Connections.attach` sets it up: it adds `client=`, made once per route,
endpoint and key and reused by every later call to the same endpoint with
the same key, on the same event loop (a client's connection pool belongs to
the loop it was made on, so a new loop gets new clients, and loops running
at once in several threads each keep and close their own: `adf.llm.perloop`).

The routes (every call still goes through `litellm.acompletion`):
- "generic": litellm's own HTTP route for OpenAI-compatible servers, without
  the OpenAI SDK: the model is asked for as `hosted_vllm/<name>` (litellm's
  provider for any OpenAI-compatible server: its request and reply
  transforms are OpenAI's, sent by litellm's `AsyncHTTPHandler`, which adf
  keeps per endpoint). About a fifth less client CPU per call than the SDK
  route (`bench/runtime_overhead.py`). Taken only where the server receives
  the same request body as on the SDK route and failures classify the same
  (`tests/llm/test_routes.py`): an `openai/<name>` model with an explicit
  `api_base`, a name litellm's model table does not know (a known OpenAI
  model gets per-model parameter rules on the SDK route, such as
  `max_completion_tokens` for reasoning models, that the generic route
  lacks), nor one whose name matches litellm's o-series, gpt-5 or gpt-audio
  patterns (`adf.llm.catalogue.openai_rules`: litellm applies those rules by
  name), no tools (the generic route drops `additionalProperties` and
  `strict` from tool schemas), only keyword arguments from `GENERIC_SAME`,
  and none of `SDK_ONLY_VARIABLES` set in the process environment (a proxy:
  the SDK's HTTP client sends through it, litellm's handler would not;
  `OPENAI_ORG_ID`, `OPENAI_ORGANIZATION`, `OPENAI_PROJECT_ID`: the SDK sends
  them as headers; `SSL_CERTIFICATE`: litellm's handler presents it). The
  generic route verifies TLS certificates as the SDK route does, whatever
  `SSL_VERIFY` says. Setting `ADF_LLM_ROUTE=sdk` in the client's environment
  keeps every call on the SDK route.
- "sdk": litellm's OpenAI handler with an `openai.AsyncOpenAI` that adf keeps.
- "litellm": anything else (no `api_base`: a hosted provider); nothing added.

litellm otherwise looks its cached SDK client up on every call, hashing the
client's parameters each time: about a tenth of its CPU per call. Only calls
litellm would send through the OpenAI SDK with a client made from exactly
these two values get one: an `openai/...` model with an explicit `api_base`
(adf's local server, vLLM, llama.cpp, any OpenAI-compatible server) and no
option that changes how litellm makes the client (`organization`,
`api_version`, a client or session of the caller's). The SDK's own retries
are off (adf retries); the per-call timeout still goes with each request.
The same holds for the generic route's handler (litellm's HTTP client makes
no retries of its own there).

The clients send over the SDK's aiohttp transport (`openai.DefaultAioHttpClient`;
aiohttp comes with litellm): its C HTTP parser costs about a tenth less
client CPU per call than the SDK's default pure-Python HTTP/1.1 stack
(`bench/runtime_overhead.py`). Without aiohttp the default transport is used.
That transport reports a dropped connection as a connect timeout; it is
retried as before, and its reason says "Connection error" (`adf.llm.retry.describe`).
An aiohttp session must be closed on its own loop, or it complains when
collected: `aclose` closes the running loop's clients (never another loop's),
and a loop that ends without it (`asyncio.run`, which finalises the loop's async generators
before closing it) closes them on its way out (`_closing`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from adf.llm.catalogue import litellm_knows, openai_rules
from adf.llm.perloop import PerLoop
from adf.llm.protocol import ModelError

Route = Literal["generic", "sdk", "litellm"]
ROUTE_ENV = "ADF_LLM_ROUTE"  # "sdk": every call on the SDK route
GENERIC_PROVIDER = "hosted_vllm"  # litellm's provider for any OpenAI-compatible server
SDK_PREFIX = "openai/"
_CLIENT_OPTIONS = frozenset({"organization", "api_version", "client", "shared_session"})
# variables of the process environment that one route's HTTP client reads and the other's
# does not: proxies (the SDK's honours them, litellm's handler not), the organisation and
# project (the SDK sends them as headers) and a client certificate (litellm's handler sends it)
SDK_ONLY_VARIABLES = (
    *(v for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY") for v in (name, name.lower())),
    "OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "SSL_CERTIFICATE",
)
# keyword arguments whose request body on the generic route was checked to be the SDK
# route's (tests/llm/test_routes.py sends each); a call with any other takes the SDK route
GENERIC_SAME = frozenset({
    "model", "messages", "num_retries", "max_retries", "timeout", "api_base", "api_key",
    "litellm_call_id", "response_format", "temperature", "max_tokens", "max_completion_tokens",
    "seed", "stop", "top_p", "presence_penalty", "frequency_penalty", "n", "logprobs",
    "top_logprobs", "logit_bias", "user",
})


CHAT_PATH = "/chat/completions"


def chat_base(api_base: str, model: str) -> str:
    """The base URL of an `openai/...` model that both routes post `<base>/chat/completions`
    to: a base given with `/chat/completions` at its end loses it (the SDK route would post
    it doubled, the generic route as given). A base with a query string or fragment is
    refused (each route puts the path after it in its own wrong place); the URL is not
    quoted, as it may hold a secret."""
    parts = urlsplit(api_base)
    if parts.query or parts.fragment:
        raise ModelError(
            f"model '{model}': its api_base has a query string or fragment ('?...' or "
            f"'#...'), which cannot be sent: adf posts to <api_base>{CHAT_PATH}; give the "
            "server's base URL alone (a key goes in api_key)", status=None)
    path = parts.path.rstrip("/")
    if path.endswith(CHAT_PATH):
        return api_base[: api_base.rstrip("/").rindex(CHAT_PATH)]
    return api_base


def shareable(kwargs: Mapping[str, Any]) -> bool:
    """Whether a call's SDK client is fully given by its `api_base` and `api_key`."""
    return (
        str(kwargs.get("model", "")).startswith(SDK_PREFIX)
        and isinstance(kwargs.get("api_base"), str)
        and isinstance(kwargs.get("api_key"), str)
        and _CLIENT_OPTIONS.isdisjoint(kwargs)
    )


def route(
    kwargs: Mapping[str, Any], environ: Mapping[str, str] = os.environ,
    process: Mapping[str, str] = os.environ,
) -> Route:
    """Which of litellm's paths a call takes (see the module docstring): `environ` is read
    for `ROUTE_ENV` (the client's environment), `process` for `SDK_ONLY_VARIABLES` (the
    HTTP clients read the process's)."""
    if not shareable(kwargs):
        return "litellm"
    if (
        environ.get(ROUTE_ENV, "").strip().lower() == "sdk"
        or not GENERIC_SAME.issuperset(kwargs)
        or any(process.get(name) for name in SDK_ONLY_VARIABLES)
        or litellm_knows(kwargs["model"])
        or openai_rules(kwargs["model"])
    ):
        return "sdk"
    return "generic"


def http_client() -> Any:
    """The SDK's aiohttp-backed HTTP client, or its default one where aiohttp is missing."""
    import openai

    try:
        return openai.DefaultAioHttpClient()
    except RuntimeError:  # the SDK says aiohttp is not installed
        return openai.DefaultAsyncHttpxClient()


def generic_handler(timeout: float | None) -> Any:
    """litellm's HTTP client for the generic route (its aiohttp transport, as litellm makes it).
    It verifies TLS certificates whatever `SSL_VERIFY` or `litellm.ssl_verify` say, as the
    SDK route does (`SSL_CERT_FILE` still names the trusted authorities on both)."""
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    return AsyncHTTPHandler(timeout=timeout, ssl_verify=True)


async def _closing(clients: dict[tuple[Route, str, str], Any]) -> AsyncGenerator[None, None]:
    """Close `clients` when the generator is closed: by `Connections.aclose`, or by the
    loop finalising its async generators as it shuts down."""
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.close()
        clients.clear()


@attrs.frozen
class _LoopClients:
    """The clients made on one loop, by (route, api_base, api_key), and what closes them."""

    clients: dict[tuple[Route, str, str], Any] = attrs.field(factory=dict)
    closer: AsyncGenerator[None, None] = attrs.field(
        default=attrs.Factory(lambda self: _closing(self.clients), takes_self=True))


class Connections:
    """The clients of one `LiteLLMClient`, by (route, api_base, api_key), per event loop (loops
    in several threads at once each have their own); `make_http_client` makes each SDK
    client's HTTP client (default `http_client`); `environ` (default `os.environ`) is read for
    `ROUTE_ENV`."""

    def __init__(
        self, make_http_client: Callable[[], Any] = http_client,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._make_http_client = make_http_client
        self._environ = os.environ if environ is None else environ
        self._loops: PerLoop[_LoopClients] = PerLoop(_LoopClients)

    async def attach(self, kwargs: dict[str, Any]) -> Route:
        """Set a call's keyword arguments up for its route (`route`) and give the route:
        `client=` for both routes adf keeps clients for, and the generic route's model."""
        chosen = route(kwargs, self._environ)
        if chosen == "litellm":
            return chosen
        mine, new = self._loops.lookup()
        if new:
            await anext(mine.closer)  # registered with the loop, to run at its shutdown
        endpoint = (chosen, kwargs["api_base"], kwargs["api_key"])
        client = mine.clients.get(endpoint)
        if client is None:
            client = mine.clients[endpoint] = self._make(chosen, kwargs)
        kwargs["client"] = client
        if chosen == "generic":
            kwargs["model"] = f"{GENERIC_PROVIDER}/{kwargs['model'][len(SDK_PREFIX):]}"
        return chosen

    def _make(self, chosen: Route, kwargs: Mapping[str, Any]) -> Any:
        if chosen == "generic":
            return generic_handler(kwargs.get("timeout"))
        import openai

        return openai.AsyncOpenAI(
            base_url=kwargs["api_base"], api_key=kwargs["api_key"], max_retries=0,
            timeout=kwargs.get("timeout"), http_client=self._make_http_client(),
        )

    async def aclose(self) -> None:
        """Close the clients made on the running loop (those of other loops are left to them)."""
        mine = self._loops.pop()
        if mine is not None:
            await mine.closer.aclose()
