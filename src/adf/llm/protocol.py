"""What every model call looks like, whatever answers it.

Takes nothing; gives `ChatRequest`, `ChatReply`, `ModelClient` and
`ModelError`. The forward pass, the backward engine, the optimizer and the
demo teacher all speak only this protocol, so tests inject a client pointed
at the fake OpenAI server and production uses the litellm-backed client in
`adf.llm.client`. A request holds no secret: the API key is named by its
environment variable and read only at the moment of the call.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal, Protocol

import attrs

Purpose = Literal["forward", "backward", "optimizer", "teacher"]


@attrs.frozen
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@attrs.frozen
class ChatRequest:
    """One chat completion. Fields above `node` form the cache key; the rest is bookkeeping."""

    model: str
    messages: tuple[Message, ...]
    api_base: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    json_schema: str | None = None  # canonical JSON text of the reply's schema, if structured
    extra: tuple[tuple[str, str | int | float | bool], ...] = ()
    # canonical JSON text of the tool definitions the model chooses from; its call
    # comes back as the text `adf.llm.toolcall.encode_tool_call` writes
    tools: str | None = None
    api_key_env: str | None = None  # name of the env var holding the key; never the key
    node: str = ""  # which node / role made the call, for accounting and traces
    purpose: Purpose = "forward"
    sample: str = ""  # sample id, for traces

    @property
    def is_local(self) -> bool:
        """Bound for adf's own llama.cpp server (its resolution marks `extra`): free, and
        cached by model file rather than by the server's changing port."""
        return any(key == "local_model" for key, _ in self.extra)


@attrs.frozen
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cached: bool
    latency_s: float
    retries: int = 0
    structured: Literal["schema", "none"] = "none"


class ModelError(Exception):
    """A call that failed for good (after retries); `reason` is one line for the user.

    `requests` is how many requests the call sent to a provider before giving up.
    """

    def __init__(self, reason: str, *, status: int | None = None, requests: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.requests = requests


class RequestGate(Protocol):
    """Asked before every request a client sends to a provider, retries included;
    raises to refuse it (a budget, for instance). `attempt` is 0 for the first.
    A gate may also return an awaitable (a cluster-wide limit that waits its turn)."""

    def __call__(self, request: ChatRequest, attempt: int) -> Awaitable[None] | None: ...


class ModelClient(Protocol):
    async def complete(self, request: ChatRequest) -> ChatReply: ...
