"""What one model call sends to litellm, and the `ChatReply` made from its answer.

Takes a `ChatRequest` (and the environment its secrets are read from);
gives `call_kwargs`, the keyword arguments of `litellm.acompletion` (built
once per call, not per attempt), `with_schema` (the `response_format` a
schema form asks for), `reply_text`, `reply` (tokens from the provider's
usage, else estimated; cost from adf's catalogue) and `cached_reply`.

- The API key is read from `env[request.api_key_env]`; an `env.<option>`
  extra names the variable of any other secret option; every value read is
  appended to `secrets`, for scrubbing. A request that names no key but
  sets `api_base` gets `NO_KEY`.
- `extra` entries become keyword arguments, except `structured`, `timeout`
  (seconds for this call), `local_model` (the local GGUF's identity, for
  the cache key) and `env.<option>`.
- Tools: a request with `tools` sends them with `tool_choice="required"`;
  the model's first tool call comes back from `reply_text` in the one text
  form of `adf.llm.toolcall`, so caching, de-duplication and traces treat it
  as any other reply.
- litellm's own retries are off (adf retries), and each attempt carries a
  `litellm_call_id` from `adf.llm.provider.call_id`, which tells litellm
  that adf prices and traces the call itself.
- Cost: 0 for a free model, None where the price is unknown, else the
  catalogue's price of the provider's token counts (cached prompt tokens at
  the cached rate where the provider reports them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adf.llm.cache import CachedReply
from adf.llm.catalogue import FREE, SchemaForm, estimate_tokens, price
from adf.llm.connections import SDK_PREFIX, chat_base
from adf.llm.protocol import ChatReply, ChatRequest
from adf.llm.provider import call_id
from adf.llm.retry import Retryable
from adf.llm.secrets import NO_KEY, read_env
from adf.llm.toolcall import encode_tool_call

_CLIENT_EXTRA = frozenset({"structured", "timeout", "local_model"})


def call_kwargs(
    request: ChatRequest, timeout_s: float, env: Mapping[str, str], secrets: list[str]
) -> dict[str, Any]:
    """The keyword arguments of `litellm.acompletion` for `request` (no response_format)."""
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "num_retries": 0,
        "max_retries": 0,
        "timeout": timeout_s,
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
        kwargs["api_key"] = read_env(env, request.api_key_env, request.model, "api_key")
        secrets.append(kwargs["api_key"])
    elif request.api_base is not None:
        kwargs["api_key"] = NO_KEY
    for name, value in request.extra:
        if name == "timeout" and isinstance(value, int | float) and not isinstance(value, bool):
            kwargs["timeout"] = float(value)
        elif name.startswith("env."):
            option = name[4:]
            kwargs[option] = read_env(env, str(value), request.model, option)
            secrets.append(kwargs[option])
        elif name not in _CLIENT_EXTRA:
            kwargs[name] = value
    if isinstance(kwargs.get("api_base"), str) and request.model.startswith(SDK_PREFIX):
        kwargs["api_base"] = chat_base(kwargs["api_base"], request.model)
    return kwargs


def attempt(kwargs: dict[str, Any], request: ChatRequest, form: SchemaForm) -> dict[str, Any]:
    """The keyword arguments of one attempt: a fresh call id and the schema form's
    `response_format` (none when the form is "none")."""
    sent = {**kwargs, "litellm_call_id": call_id()}
    if form != "none" and request.json_schema is not None:
        sent["response_format"] = with_schema(json.loads(request.json_schema), form)
    return sent


def with_schema(schema: object, form: SchemaForm) -> dict[str, Any]:
    """The `response_format` for a reply schema in `form` ("json_object" or "json_schema")."""
    if form == "json_object":
        return {"type": "json_object", "schema": schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }


def reply_text(response: Any) -> str:
    """The first choice's text ("" when it is not text), or its first tool call in the
    form `adf.llm.toolcall` reads; `Retryable` when there is no message."""
    try:
        message = response.choices[0].message
        content = message.content
    except (AttributeError, IndexError, TypeError):
        raise Retryable("the reply had no message") from None
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        name = getattr(function, "name", None)
        if isinstance(name, str):
            arguments = getattr(function, "arguments", None)
            return well_formed(encode_tool_call(name, arguments if isinstance(arguments, str)
                                                else ""))
    return well_formed(content) if isinstance(content, str) else ""


def well_formed(text: str) -> str:
    """`text` with each lone surrogate (a `\\ud800` escape in the provider's JSON) replaced
    by U+FFFD, as a UTF-8 decoder does with a bad byte: such a text cannot be printed, cached,
    traced or sent back to a provider."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def reply(
    request: ChatRequest,
    response: Any,
    text: str,
    form: SchemaForm,
    retries: int,
    latency_s: float,
) -> ChatReply:
    """The `ChatReply` for an answered call (see the module docstring for tokens and cost)."""
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
        cost_usd=cost(request.model, prompt, completion, cached_tokens(usage)),
        cached=False,
        latency_s=latency_s,
        retries=retries,
        structured="none" if form == "none" else "schema",
    )


def cost(model: str, prompt: int, completion: int, cached: int = 0) -> float | None:
    """Dollars for a reply: 0 for a free model, None where the price is unknown."""
    known = price(model)
    if known is None:
        return None
    return 0.0 if known == FREE else known.of(prompt, completion, cached)


def cached_tokens(usage: Any) -> int:
    """Prompt tokens the provider read from its prompt cache, where it says (else 0)."""
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None)
    return cached if isinstance(cached, int) and cached > 0 else 0


def cached_reply(hit: CachedReply, latency_s: float) -> ChatReply:
    """The `ChatReply` for a reply cache hit: nothing paid, no request sent."""
    return ChatReply(
        text=hit.text,
        prompt_tokens=hit.prompt_tokens,
        completion_tokens=hit.completion_tokens,
        cost_usd=None if hit.cost_usd is None else 0.0,
        cached=True,
        latency_s=latency_s,
        retries=0,
        structured=hit.structured,
    )
