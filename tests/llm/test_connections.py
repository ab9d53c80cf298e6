"""The SDK clients adf keeps per endpoint: shared within a loop, closed with it, quietly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from llm_helpers import FAST, ask

from adf.llm.client import LiteLLMClient
from adf.llm.connections import Connections
from adf.llm.protocol import ModelError
from adf.testing.fake_server import FakeServer, FaultPlan


def _call(api_base: str | None = "http://127.0.0.1:9/v1", key: str = "k") -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "openai/fake", "api_key": key, "timeout": 5.0}
    if api_base is not None:
        kwargs["api_base"] = api_base
    return kwargs


def test_one_client_per_endpoint_and_key_closed_when_its_loop_ends() -> None:
    connections = Connections()

    async def attach_all() -> list[dict[str, Any]]:
        calls = [_call(), _call(), _call(key="other"), _call(api_base=None)]
        for kwargs in calls:
            await connections.attach(kwargs)
        return calls

    first = asyncio.run(attach_all())
    assert first[0]["client"] is first[1]["client"]          # same endpoint and key: shared
    assert first[2]["client"] is not first[0]["client"]      # another key: its own client
    assert "client" not in first[3]                          # no api_base: litellm's own path
    # asyncio.run finalised the loop's async generators: the clients were closed on it
    assert first[0]["client"].is_closed() and first[2]["client"].is_closed()
    second = asyncio.run(attach_all())
    assert second[0]["client"] is not first[0]["client"]     # a new loop gets new clients


def test_aclose_closes_the_running_loops_clients() -> None:
    connections = Connections()

    async def attach_then_close() -> tuple[Any, bool]:
        kwargs = _call()
        await connections.attach(kwargs)
        await connections.aclose()
        return kwargs["client"], kwargs["client"].is_closed()

    client, closed_before_loop_end = asyncio.run(attach_then_close())
    assert closed_before_loop_end and client.is_closed()


_THREE_LOOPS = """
import asyncio, sys
from adf.llm.client import LiteLLMClient
from adf.llm.protocol import ChatRequest, Message
client = LiteLLMClient(cache=None, timeout_s=5.0)
for i in range(3):  # three loops, none closing the client itself
    request = ChatRequest(model="openai/fake", messages=(Message("user", f"q{i}"),),
                          api_base=sys.argv[1])
    print(asyncio.run(client.complete(request)).text)
"""


def test_loops_ending_without_aclose_leave_nothing_unclosed() -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONWARNINGS": "always"}
    with FakeServer("ok") as srv:
        done = subprocess.run([sys.executable, "-c", _THREE_LOOPS, srv.base_url], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert srv.request_count == 3
    assert done.stdout.split() == ["ok", "ok", "ok"]
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr


def test_a_dropped_connection_is_retried_and_named_as_such() -> None:
    client = LiteLLMClient(cache=None, timeout_s=5.0, retry=FAST)
    with FakeServer("never", faults=FaultPlan(rate=1.0, kinds=("disconnect",))) as srv:
        with pytest.raises(ModelError) as err:
            asyncio.run(client.complete(ask(srv.base_url)))
        assert srv.request_count == FAST.max_retries + 1
    assert err.value.reason.endswith("Connection error: Server disconnected")
    assert "timed out" not in err.value.reason
