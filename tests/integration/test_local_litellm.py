"""The real local model end to end through litellm (``model="openai/local"``).

The model's wording is not asserted (SmolLM2-135M is weak and its text may
change with the build); what is asserted is the contract adf relies on:
a reply within the token cap, and schema-constrained decoding.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import jsonschema
import pytest

from adf.local.server import LocalServer, litellm_options, response_format

pytestmark = [pytest.mark.local_model, pytest.mark.usefixtures("litellm_env")]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["ABBR", "DESC", "HUM", "LOC", "NUM"]},
        "count": {"type": "integer"},
    },
    "required": ["label", "count"],
    "additionalProperties": False,
}
QUESTION = [{"role": "user", "content": "What is the capital of France? How many letters?"}]


def _complete(server: LocalServer, **options: Any) -> Any:
    import litellm

    async def call() -> Any:
        return await litellm.acompletion(
            **litellm_options(server.base_url),
            messages=QUESTION,
            temperature=0,
            timeout=60,
            **options,
        )

    return asyncio.run(call())


def test_short_chat_completion(local_server: LocalServer) -> None:
    reply = _complete(local_server, max_tokens=12)
    assert reply.choices[0].message.content.strip()
    assert 0 < reply.usage.completion_tokens <= 12


def test_unconstrained_reply_is_prose_not_the_schema(local_server: LocalServer) -> None:
    # the control for the next test: without a schema the model does not produce it
    text = _complete(local_server, max_tokens=24).choices[0].message.content
    with pytest.raises((ValueError, jsonschema.ValidationError)):
        jsonschema.validate(json.loads(text), SCHEMA)


def test_json_object_with_schema_constrains_the_reply(local_server: LocalServer) -> None:
    reply = _complete(
        local_server,
        max_tokens=40,
        response_format=response_format(SCHEMA),
    )
    value = json.loads(reply.choices[0].message.content)
    jsonschema.validate(value, SCHEMA)
    assert isinstance(value["count"], int)


def test_openai_json_schema_form_is_rejected_by_this_server(local_server: LocalServer) -> None:
    # llama-cpp-python's server accepts only {"type": "json_object", "schema": ...};
    # the OpenAI form fails request validation (HTTP 500). If this starts passing,
    # the runtime may send the OpenAI form to the local model too.
    body = {
        "model": "local",
        "messages": QUESTION,
        "max_tokens": 8,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
    }
    request = urllib.request.Request(
        f"{local_server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 500
    assert "json_object" in info.value.read().decode()


def test_gbnf_grammar_via_extra_body(local_server: LocalServer) -> None:
    reply = _complete(local_server, max_tokens=4, extra_body={"grammar": 'root ::= "yes" | "no"'})
    assert reply.choices[0].message.content in ("yes", "no")
