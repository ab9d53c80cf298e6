"""OpenAI SDK clients that adf keeps for OpenAI-compatible endpoints, one per endpoint and key.

Takes the keyword arguments of one `litellm.acompletion` call (built by
`adf.llm.payload`); `Connections.attach` adds `client=`, an
`openai.AsyncOpenAI` for that call's `api_base` and `api_key`, made once and
reused by every later call to the same endpoint with the same key, on the
same event loop (a client's connection pool belongs to the loop it was made
on, so a new loop gets new clients). `aclose` closes them on their loop; the
clients of a loop that ended without it are dropped as they are (their HTTP
client is made without the SDK's close-on-collection, which would try to
close them on the next loop and print an error).

litellm otherwise looks its cached SDK client up on every call, hashing the
client's parameters each time: about a tenth of its CPU per call. Only calls
litellm would send through the OpenAI SDK with a client made from exactly
these two values get one: an `openai/...` model with an explicit `api_base`
(adf's local server, vLLM, llama.cpp, any OpenAI-compatible server) and no
option that changes how litellm makes the client (`organization`,
`api_version`, a client or session of the caller's). The SDK's own retries
are off (adf retries); the per-call timeout still goes with each request.
"""

from __future__ import annotations

import asyncio
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


class Connections:
    """The SDK clients of one `LiteLLMClient`, by (api_base, api_key), for the running loop."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, kwargs: dict[str, Any]) -> None:
        """Add `client=` to a call's keyword arguments when it can share one (`shareable`)."""
        if not shareable(kwargs):
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._clients, self._loop = {}, loop
        endpoint = (kwargs["api_base"], kwargs["api_key"])
        client = self._clients.get(endpoint)
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                base_url=endpoint[0], api_key=endpoint[1], max_retries=0,
                timeout=kwargs.get("timeout"), http_client=openai.DefaultAsyncHttpxClient(),
            )
            self._clients[endpoint] = client
        kwargs["client"] = client

    async def aclose(self) -> None:
        """Close the clients made on the running loop (those of another loop are dropped)."""
        clients, self._clients = self._clients, {}
        if self._loop is asyncio.get_running_loop():
            for client in clients.values():
                await client.close()
        self._loop = None
