"""The real local model through adf's own path: `open_models` starts the server, the client
sends the schema in the form llama.cpp honours, and the reply conforms (marked: slow)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adf.diagnostics import Span
from adf.llm.cache import ReplyCache
from adf.llm.calltrace import MemoryTrace
from adf.llm.client import LiteLLMClient
from adf.llm.models import open_models, resolve_models
from adf.llm.protocol import ChatReply, Message
from adf.llm.requests import build_request
from adf.plan.schema import ModelDecl

pytestmark = pytest.mark.local_model

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "integer"},
        "unit": {"type": "string", "enum": ["apples", "pears"]},
    },
    "required": ["answer", "unit"],
    "additionalProperties": False,
}
OPTIONS = (("temperature", 0), ("max_tokens", 48), ("context", 2048))


def test_local_model_answers_under_the_schema(tmp_path: Path) -> None:
    models = resolve_models([ModelDecl("student", "local", OPTIONS, Span(1, 1, 1, 2))], environ={})
    trace = MemoryTrace()
    cache = ReplyCache(tmp_path / "cache.sqlite")

    async def go() -> tuple[ChatReply, ChatReply, ChatReply]:
        async with open_models(models, LiteLLMClient(cache=cache, sinks=[trace])) as session:
            question = (Message("user", "I have 3 apples and buy 2 more. How many apples?"),)
            student = session.models["student"].effective_decl()
            request = build_request(student, question, json_schema=json.dumps(SCHEMA))
            first = await session.client.complete(request)
            again = await session.client.complete(request)
            plain = await session.client.complete(build_request(student, question))
            return first, again, plain

    first, again, plain = asyncio.run(go())
    cache.close()
    jsonschema.validate(json.loads(first.text), SCHEMA)
    assert first.structured == "schema"
    assert trace.records[0].schema_form == "json_object"
    assert first.completion_tokens <= 48
    assert again.cached and again.text == first.text
    assert plain.structured == "none" and plain.text.strip()
