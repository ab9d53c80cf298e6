"""Build `ChatRequest`s from a plan's model declarations.

Takes a `ModelDecl` (litellm model string plus options) and the messages of
one call; gives the request. Known options map to request fields
(`api_base`, `temperature`, `max_tokens`, `api_key` as an environment
variable *name*); `context` is a model property, not a request option, and is
dropped (the typed table is `adf.plan.model_options`); a provider extra
`x_NAME` travels as `NAME`; other options travel in `extra`, an `env(...)` one as
`("env.<option>", VARIABLE)`. Environment references are never resolved
here: a secret only ever exists inside the client, at the moment of the call.
Run-time overrides (`--model`, `--api-base`) are applied before, by giving a
plan whose models are `adf.llm.models.ResolvedModel.effective_decl()`.

A reply schema is bounded to the reply's token cap (`bound_strings`): every
free `string` in it (no `maxLength`, `enum`, `const` or `pattern`) gets a
`maxLength` so that all of them together fit in `max_tokens`. A
grammar-constrained reply then closes its JSON before the cap instead of
being cut off mid-string, which would leave it unreadable.
"""

from __future__ import annotations

import json
from typing import Any

from adf.llm.catalogue import BOUND_CHARS_PER_TOKEN, DEFAULT_REPLY_TOKENS, positive_int
from adf.llm.protocol import ChatRequest, Message, Purpose
from adf.plan.model_options import OPTIONS, provider_name
from adf.plan.schema import EnvRef, ModelDecl, OptionValue

# options that become request fields, or that adf keeps to itself (see adf.plan.model_options)
_NOT_EXTRA = frozenset({"api_key", "api_base", "temperature", "max_tokens"}) | {
    spec.name for spec in OPTIONS.values() if spec.reader == "model"
}
_SYNTAX_TOKENS = 8  # braces, and the slack a tokenizer needs at the end
_FIELD_TOKENS = 6  # key, quotes, colon and comma of one field
_MIN_LENGTH = 16


def build_request(
    model: ModelDecl,
    messages: tuple[Message, ...],
    *,
    node: str = "",
    sample: str = "",
    purpose: Purpose = "forward",
    json_schema: str | None = None,
    max_tokens: int | None = None,
    tools: str | None = None,
) -> ChatRequest:
    options = dict(model.options)
    api_base = options.get("api_base")
    api_key = options.get("api_key")
    temperature = options.get("temperature")
    declared_max = options.get("max_tokens")
    extra = tuple(
        (f"env.{sent}", value.name) if isinstance(value, EnvRef) else (sent, value)
        for name, value in model.options
        if name not in _NOT_EXTRA
        for sent in (provider_name(name) or name,)
    )
    reply_cap = _pick_max(declared_max, max_tokens)
    return ChatRequest(
        model=model.model,
        messages=messages,
        api_base=api_base if isinstance(api_base, str) else None,
        temperature=float(temperature) if isinstance(temperature, int | float) else None,
        max_tokens=reply_cap,
        json_schema=None if json_schema is None else bound_strings(json_schema, reply_cap),
        extra=extra,
        tools=tools,
        api_key_env=api_key.name if isinstance(api_key, EnvRef) else None,
        node=node,
        purpose=purpose,
        sample=sample,
    )


def _pick_max(declared: OptionValue | None, wanted: int | None) -> int | None:
    """The larger of the declared cap and the caller's (a caller may only raise it)."""
    base = positive_int(declared)
    if wanted is None:
        return base
    return wanted if base is None else max(base, wanted)


def bound_strings(schema_text: str, max_tokens: int | None) -> str:
    """`schema_text` with a `maxLength` on every free string, sized to fit `max_tokens`.

    Strings that already have a length, an `enum`, a `const` or a `pattern`
    are left alone; so is text that is not a JSON object. The result is
    canonical JSON (sorted keys, no spaces) whenever something changed.
    """
    try:
        schema = json.loads(schema_text)
    except ValueError:
        return schema_text
    if not isinstance(schema, dict):
        return schema_text
    free = _free_strings(schema)
    if not free:
        return schema_text
    fields = _count_fields(schema)
    cap = max_tokens if max_tokens is not None else DEFAULT_REPLY_TOKENS
    room = cap - _SYNTAX_TOKENS - _FIELD_TOKENS * fields
    length = max(_MIN_LENGTH, room * BOUND_CHARS_PER_TOKEN // len(free))
    for node in free:
        node["maxLength"] = length
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _free_strings(node: Any) -> list[dict[str, Any]]:
    """The schema nodes that are unbounded strings, in document order."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "string" and not any(
            k in node for k in ("maxLength", "enum", "const", "pattern")
        ):
            found.append(node)
        for key in ("properties", "$defs", "definitions"):
            children = node.get(key)
            if isinstance(children, dict):
                for child in children.values():
                    found += _free_strings(child)
        for key in ("items", "additionalProperties"):
            child = node.get(key)
            if isinstance(child, dict):
                found += _free_strings(child)
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            options = node.get(key)
            if isinstance(options, list):
                for child in options:
                    found += _free_strings(child)
    return found


def _count_fields(node: Any) -> int:
    """How many object fields the schema declares, at any depth."""
    if not isinstance(node, dict):
        return 0
    total = 0
    properties = node.get("properties")
    if isinstance(properties, dict):
        total += len(properties) + sum(_count_fields(c) for c in properties.values())
    for key in ("items", "additionalProperties"):
        total += _count_fields(node.get(key))
    return total
