"""No API key or env() secret reaches the cache, the traces, the accounting or an error text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from llm_helpers import ask

from adf.llm.accounting import Accounting
from adf.llm.cache import ReplyCache
from adf.llm.calltrace import JsonlTraceWriter
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.llm.protocol import ModelError
from adf.testing.fake_server import FakeReply, FakeServer, last_user

KEY = "sk-adf-test-SECRET-7f3a9"
ORG = "org-adf-SECRET-5521"


def test_secrets_never_reach_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADF_TEST_KEY", KEY)
    monkeypatch.setenv("ADF_TEST_ORG", ORG)
    accounting = Accounting()
    trace_path = tmp_path / "trace.jsonl"
    cache = ReplyCache(tmp_path / "cache.sqlite")

    def respond(req: dict[str, Any]) -> str | FakeReply:
        if "fail" in last_user(req):  # a provider that echoes the key it was given
            return FakeReply(f"Incorrect API key provided: {KEY}", status=401)
        return "fine"

    extra = (("env.organization", "ADF_TEST_ORG"),)
    with JsonlTraceWriter(trace_path) as writer, FakeServer(respond) as srv:
        client = LiteLLMClient(
            cache=cache, sinks=[accounting, writer], retry=RetryPolicy(base_s=0.001)
        )

        async def calls() -> ModelError:
            await client.complete(ask(srv.base_url, "ok", api_key_env="ADF_TEST_KEY", extra=extra))
            await client.complete(ask(srv.base_url, "ok", api_key_env="ADF_TEST_KEY", extra=extra))
            with pytest.raises(ModelError) as err:
                await client.complete(
                    ask(srv.base_url, "fail", api_key_env="ADF_TEST_KEY", extra=extra)
                )
            return err.value

        error = asyncio.run(calls())
        headers = srv.headers
    cache.close()

    # the secrets were really used...
    assert headers[0]["authorization"] == f"Bearer {KEY}"
    assert headers[0]["openai-organization"] == ORG
    assert error.status == 401
    assert "ADF_TEST_KEY" in error.reason
    assert "***" in error.reason  # the echoed key was scrubbed
    # ...and appear nowhere adf writes
    artifacts = {
        "error": error.reason,
        "trace": trace_path.read_text(),
        "accounting": json.dumps(accounting.to_json()),
    }
    for path in tmp_path.glob("cache.sqlite*"):
        artifacts[path.name] = path.read_bytes().decode("latin-1")
    assert len(trace_path.read_text().splitlines()) == 3
    for name, text in artifacts.items():
        for secret in (KEY, ORG):
            assert secret not in text, f"{secret} leaked into {name}"


def test_an_env_api_base_stays_out_of_traces_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adf.cli.main import main

    source = tmp_path / "prog.adf"
    source.write_text(
        'model m = "openai/fake" { api_base: env("ADF_TEST_BASE") }\n'
        'param instruction: prompt = "Answer."\n'
        "input question: str\n"
        "llm answer(question: str) -> str using m {\n"
        "  system: [instruction]\n"
        '  user: "{question}"\n'
        "}\n"
        "node out = answer(question)\n"
        "output out\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q"}\n')
    trace = tmp_path / "trace.jsonl"
    token = "tok-SECRET-9b1c"
    with FakeServer("fine") as srv:
        monkeypatch.setenv("ADF_TEST_BASE", f"{srv.base_url}?key={token}")
        args = ["eval", str(source), "--data", str(data), "--no-cache", "--trace", str(trace)]
        main(args)
    monkeypatch.setenv("ADF_TEST_BASE", f"http://127.0.0.1:9/{token}/v1")  # unreachable
    main([*args, "--json"])
    out = capsys.readouterr()
    text = trace.read_text()
    assert '"api_base": "***"' in text
    assert token not in text and token not in out.out + out.err
