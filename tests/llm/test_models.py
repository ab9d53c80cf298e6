"""Model resolution: overrides from flags and environment, local model, env refs, sessions."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adf.diagnostics import Span
from adf.llm.cache import ReplyCache
from adf.llm.catalogue import (
    DEFAULT_LOCAL_CONTEXT,
    bound_messages,
    bound_tokens,
    context_window,
    estimate_tokens,
)
from adf.llm.client import LiteLLMClient
from adf.llm.models import (
    ModelConfigError,
    ModelOverrides,
    open_models,
    parse_overrides,
    resolve_models,
)
from adf.llm.protocol import Message
from adf.llm.requests import build_request
from adf.plan.schema import EnvRef, ModelDecl, OptionValue
from adf.testing.fake_server import FakeServer

SPAN = Span(1, 1, 1, 2)


def decl(name: str, model: str, **options: OptionValue) -> ModelDecl:
    return ModelDecl(name, model, tuple(options.items()), SPAN)


def test_parse_overrides() -> None:
    over = parse_overrides(["student=openai/gpt-4o-mini", "t = ollama/llama3"], ["student="])
    assert over.models == (("student", "openai/gpt-4o-mini"), ("t", "ollama/llama3"))
    assert over.api_bases == (("student", ""),)
    for bad in (["student"], ["=x"], ["student="]):
        with pytest.raises(ModelConfigError, match="--model expects NAME=VALUE"):
            parse_overrides(bad)


def test_precedence_flag_then_env_then_file() -> None:
    decls = [decl("student", "openai/a", api_base="http://file/v1", temperature=0)]
    env = {"ADF_MODEL_STUDENT": "openai/b", "ADF_API_BASE_STUDENT": "http://env/v1/"}
    flags = ModelOverrides(
        models=(("student", "openai/c"),), api_bases=(("student", "http://flag/v1"),)
    )
    assert resolve_models(decls, environ={})["student"].model == "openai/a"
    from_env = resolve_models(decls, environ=env)["student"]
    assert (from_env.model, from_env.api_base) == ("openai/b", "http://env/v1")
    from_flags = resolve_models(decls, flags, environ=env)["student"]
    assert (from_flags.model, from_flags.api_base) == ("openai/c", "http://flag/v1")
    cleared = resolve_models(decls, ModelOverrides(api_bases=(("student", ""),)), environ={})
    assert cleared["student"].api_base is None
    assert from_flags.temperature == 0.0


def test_unknown_override_name() -> None:
    with pytest.raises(
        ModelConfigError,
        match=r"'teacher', which is not declared .declared: "
        "student",
    ):
        resolve_models(
            [decl("student", "local")], ModelOverrides(models=(("teacher", "x"),)), environ={}
        )


def test_local_model_and_options() -> None:
    models = resolve_models(
        [
            decl("student", "local", temperature=0, max_tokens=64, context=2048),
            decl(
                "gpt",
                "openai/gpt-4o-mini",
                api_key=EnvRef("OPENAI_API_KEY"),
                organization=EnvRef("ORG_VAR"),
                top_p=0.5,
            ),
        ],
        environ={},
    )
    student, gpt = models["student"], models["gpt"]
    assert (student.model, student.local, student.needs_local_server) == (
        "openai/local",
        True,
        True,
    )
    assert (student.max_tokens, student.context) == (64, 2048)
    assert gpt.api_key_env == "OPENAI_API_KEY"
    assert gpt.extra == (("env.organization", "ORG_VAR"), ("top_p", 0.5))
    request = build_request(gpt.effective_decl(), (Message("user", "q"),), node="n", max_tokens=9)
    assert (request.model, request.max_tokens, request.api_key_env, request.node) == (
        "openai/gpt-4o-mini",
        9,
        "OPENAI_API_KEY",
        "n",
    )
    assert request.extra == (("env.organization", "ORG_VAR"), ("top_p", 0.5))
    # flag to local, and local pointed at an existing server
    over = ModelOverrides(models=(("gpt", "local"),), api_bases=(("student", "http://s/v1"),))
    moved = resolve_models(
        [decl("student", "local"), decl("gpt", "openai/gpt-4o-mini")], over, environ={}
    )
    assert moved["gpt"].needs_local_server
    assert not moved["student"].needs_local_server and moved["student"].local


def test_env_errors_name_the_variable() -> None:
    with pytest.raises(ModelConfigError, match="environment variable MY_BASE, which is not set"):
        resolve_models([decl("m", "openai/x", api_base=EnvRef("MY_BASE"))], environ={})
    ok = resolve_models(
        [decl("m", "openai/x", api_base=EnvRef("MY_BASE"))], environ={"MY_BASE": "http://b/v1"}
    )
    assert ok["m"].api_base == "http://b/v1"
    with pytest.raises(ModelConfigError, match="api_key must come from the environment"):
        resolve_models([decl("m", "openai/x", api_key="sk-literal")], environ={})
    with pytest.raises(ModelConfigError, match="max_tokens must be a positive integer"):
        resolve_models([decl("m", "openai/x", max_tokens="many")], environ={})


def test_effective_decl_applies_overrides() -> None:
    resolved = resolve_models(
        [decl("m", "openai/a", temperature=0.5, api_key=EnvRef("K"), seed=3)],
        ModelOverrides(models=(("m", "openai/b"),), api_bases=(("m", "http://x/v1"),)),
        environ={},
    )["m"]
    built = build_request(resolved.effective_decl(), (Message("user", "q"),))
    assert (built.model, built.api_base, built.temperature, built.api_key_env, built.extra) == (
        "openai/b",
        "http://x/v1",
        0.5,
        "K",
        (("seed", 3),),
    )


def test_the_one_builder_raises_the_cap_and_bounds_schema_strings() -> None:
    """A caller's max_tokens only raises the declared cap; free strings fit the cap."""
    resolved = resolve_models([decl("m", "openai/a", max_tokens=50)], environ={})["m"]
    schema = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
    low = build_request(resolved.effective_decl(), (Message("user", "q"),), max_tokens=10)
    high = build_request(
        resolved.effective_decl(), (Message("user", "q"),), max_tokens=400, json_schema=schema
    )
    assert (low.max_tokens, high.max_tokens) == (50, 400)
    assert high.json_schema is not None
    assert json.loads(high.json_schema)["properties"]["a"]["maxLength"] > 16


def test_open_models_starts_the_local_server_once() -> None:
    sizes: list[int] = []

    with FakeServer("from local") as srv:

        @contextlib.contextmanager
        def fake_local(n_ctx: int) -> Iterator[Any]:
            sizes.append(n_ctx)
            yield srv

        models = resolve_models(
            [
                decl("a", "local", context=1024),
                decl("b", "local", context=4096),
                decl("c", "openai/other", api_base="http://elsewhere/v1"),
            ],
            environ={},
        )

        async def go() -> tuple[str, str | None]:
            async with open_models(
                models, LiteLLMClient(), local_server=fake_local,
                local_identity=lambda: "tiny.gguf:1",
            ) as session:
                reply = await session.client.complete(
                    build_request(session.models["b"].effective_decl(), (Message("user", "hi"),))
                )
                return reply.text, session.models["c"].api_base

        text, other_base = asyncio.run(go())
        body = srv.requests[0]
    assert sizes == [4096]
    assert text == "from local"
    assert body["model"] == "local"
    assert other_base == "http://elsewhere/v1"


def test_context_windows_and_estimates() -> None:
    models = resolve_models(
        [decl("s", "local", context=2048), decl("g", "openai/gpt-4o-mini"), decl("u", "openai/x")],
        environ={},
    )
    assert context_window(models["s"]) == 2048
    assert context_window(models["g"]) == 128000
    assert context_window(models["u"]) is None
    assert context_window(decl("l", "local")) == DEFAULT_LOCAL_CONTEXT
    assert context_window(decl("d", "openai/x", context=999)) == 999
    assert estimate_tokens("") == bound_tokens("") == 0
    assert (estimate_tokens("abcdefg"), bound_tokens("abcdefg")) == (2, 3)
    assert bound_messages([Message("user", "abcdefg")]) > bound_tokens("abcdefg")


def test_local_replies_stay_cached_when_the_port_changes(tmp_path: Path) -> None:
    models = resolve_models([decl("s", "local")], environ={})
    cache = ReplyCache(tmp_path / "cache.sqlite")

    def session_reply(srv: FakeServer) -> tuple[str, bool]:
        @contextlib.contextmanager
        def fake_local(n_ctx: int) -> Iterator[Any]:
            yield srv

        async def go() -> tuple[str, bool]:
            async with open_models(
                models, LiteLLMClient(cache=cache), local_server=fake_local,
                local_identity=lambda: "m.gguf:9",
            ) as session:
                reply = await session.client.complete(
                    build_request(session.models["s"].effective_decl(), (Message("user", "q"),))
                )
                return reply.text, reply.cached

        return asyncio.run(go())

    with FakeServer("first run") as one:
        assert session_reply(one) == ("first run", False)
        assert "local_model" not in one.requests[0]  # adf's own tag is not sent
    with FakeServer("second run") as two:  # another port, same model file
        assert session_reply(two) == ("first run", True)
        assert two.request_count == 0
    cache.close()
