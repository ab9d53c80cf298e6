"""OpenAI SDK clients that adf keeps for OpenAI-compatible endpoints, one per endpoint and key.

Takes the keyword arguments of one `litellm.acompletion` call (built by
`adf.llm.payload`); `Connections.attach` adds `client=`, an
`openai.AsyncOpenAI` for that call's `api_base` and `api_key`, made once and
reused by every later call to the same endpoint with the same key, on the
same event loop (a client's connection pool belongs to the loop it was made
on, so a new loop gets new clients).

litellm otherwise looks its cached SDK client up on every call, hashing the
client's parameters each time: about a tenth of its CPU per call. Only calls
litellm would send through the OpenAI SDK with a client made from exactly
these two values get one: an `openai/...` model with an explicit `api_base`
(adf's local server, vLLM, llama.cpp, any OpenAI-compatible server) and no
option that changes how litellm makes the client (`organization`,
`api_version`, a client or session of the caller's). The SDK's own retries
are off (adf retries); the per-call timeout still goes with each request.

The clients send over the SDK's aiohttp transport (`openai.DefaultAioHttpClient`;
aiohttp comes with litellm): its C HTTP parser costs about a tenth less
client CPU per call than the SDK's default pure-Python HTTP/1.1 stack
(`bench/runtime_overhead.py`). Without aiohttp the default transport is used.
That transport reports a dropped connection as a connect timeout; it is
retried as before, and its reason says "Connection error" (`adf.llm.retry.describe`).
An aiohttp session must be closed on its own loop, or it complains when
collected: `aclose` closes the running loop's clients, and a loop that ends
without it (`asyncio.run`, which finalises the loop's async generators
before closing it) closes them on its way out (`_closing`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

_CLIENT_OPTIONS = frozenset({"organization", "api_version", "client", "shared_session"})


def shareable(kwargs: dict[str, Any]) -> bool:
    """Whether a call's SDK client is fully given by its `api_base` and `api_key`."""
    return (
        str(kwargs.get("model", "")).startswith("openai/")
        and isinstance(kwargs.get("api_base"), str)
        and isinstance(kwargs.get("api_key"), str)
        and _CLIENT_OPTIONS.isdisjoint(kwargs)
    )


def http_client() -> Any:
    """The SDK's aiohttp-backed HTTP client, or its default one where aiohttp is missing."""
    import openai

    try:
        return openai.DefaultAioHttpClient()
    except RuntimeError:  # the SDK says aiohttp is not installed
        return openai.DefaultAsyncHttpxClient()


async def _closing(clients: dict[tuple[str, str], Any]) -> AsyncGenerator[None, None]:
    """Close `clients` when the generator is closed: by `Connections.aclose`, or by the
    loop finalising its async generators as it shuts down."""
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.close()
        clients.clear()


class Connections:
    """The SDK clients of one `LiteLLMClient`, by (api_base, api_key), for the running loop;
    `make_http_client` makes each one's HTTP client (default `http_client`)."""

    def __init__(self, make_http_client: Callable[[], Any] = http_client) -> None:
        self._make_http_client = make_http_client
        self._clients: dict[tuple[str, str], Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    async def attach(self, kwargs: dict[str, Any]) -> None:
        """Add `client=` to a call's keyword arguments when it can share one (`shareable`)."""
        if not shareable(kwargs):
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the clients of an earlier loop are that loop's to close
            self._clients, self._loop = {}, loop
            self._closer = _closing(self._clients)
            await anext(self._closer)  # registered with the loop, to run at its shutdown
        endpoint = (kwargs["api_base"], kwargs["api_key"])
        client = self._clients.get(endpoint)
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                base_url=endpoint[0], api_key=endpoint[1], max_retries=0,
                timeout=kwargs.get("timeout"), http_client=self._make_http_client(),
            )
            self._clients[endpoint] = client
        kwargs["client"] = client

    async def aclose(self) -> None:
        """Close the clients made on the running loop (those of another loop are left to it)."""
        closer, self._closer = self._closer, None
        if closer is not None and self._loop is asyncio.get_running_loop():
            await closer.aclose()
        self._clients, self._loop = {}, None
