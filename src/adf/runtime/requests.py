"""Build `ChatRequest`s from a plan's model declarations.

Takes a `ModelDecl` (litellm model string plus options) and the messages of
one call; gives the request. Known options map to request fields
(`api_base`, `temperature`, `max_tokens`, `api_key` as an environment
variable *name*); `context` is a model property, not a request option, and is
dropped; other options travel in `extra`, an `env(...)` one as
`("env.<option>", VARIABLE)`. Environment references are never resolved
here: a secret only ever exists inside the client, at the moment of the call.
Run-time overrides (`--model`, `--api-base`) are applied before, by giving a
plan whose models are `adf.runtime.models.ResolvedModel.effective_decl()`.
"""

from __future__ import annotations

from adf.plan.schema import EnvRef, ModelDecl
from adf.runtime.protocol import ChatRequest, Message, Purpose

_NOT_REQUEST_OPTIONS = frozenset({"context", "api_key", "api_base", "temperature", "max_tokens"})


def build_request(
    model: ModelDecl,
    messages: tuple[Message, ...],
    *,
    node: str = "",
    sample: str = "",
    purpose: Purpose = "forward",
    json_schema: str | None = None,
    max_tokens: int | None = None,
) -> ChatRequest:
    options = dict(model.options)
    api_base = options.get("api_base")
    api_key = options.get("api_key")
    temperature = options.get("temperature")
    declared_max = options.get("max_tokens")
    extra = tuple(
        (f"env.{name}", value.name) if isinstance(value, EnvRef) else (name, value)
        for name, value in model.options
        if name not in _NOT_REQUEST_OPTIONS
    )
    return ChatRequest(
        model=model.model,
        messages=messages,
        api_base=api_base if isinstance(api_base, str) else None,
        temperature=float(temperature) if isinstance(temperature, int | float) else None,
        max_tokens=_pick_max(declared_max, max_tokens),
        json_schema=json_schema,
        extra=extra,
        api_key_env=api_key.name if isinstance(api_key, EnvRef) else None,
        node=node,
        purpose=purpose,
        sample=sample,
    )


def _pick_max(declared: object, wanted: int | None) -> int | None:
    base = declared if isinstance(declared, int) and not isinstance(declared, bool) else None
    if wanted is None:
        return base
    return wanted if base is None else max(base, wanted)
