"""The clients adf keeps per endpoint (litellm's HTTP handler on the generic route, an OpenAI
SDK client on the SDK route): shared within a loop, closed with it, quietly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from llm_helpers import FAST, ask

from adf.llm.client import LiteLLMClient
from adf.llm.connections import ROUTE_ENV, Connections
from adf.llm.protocol import ModelError
from adf.testing.fake_server import FakeServer, FaultPlan


def _call(api_base: str | None = "http://127.0.0.1:9/v1", key: str = "k") -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "openai/fake", "api_key": key, "timeout": 5.0}
    if api_base is not None:
        kwargs["api_base"] = api_base
    return kwargs


ROUTES = pytest.mark.parametrize("environ", [{}, {ROUTE_ENV: "sdk"}], ids=["generic", "sdk"])


def _closed(client: Any) -> bool:
    """Whether a kept client is closed (an SDK client says; litellm's handler holds an httpx
    client, which it would make anew if asked for it)."""
    if hasattr(client, "is_closed"):
        return bool(client.is_closed())
    return bool(client._client.is_closed)


@ROUTES
def test_one_client_per_endpoint_and_key_closed_when_its_loop_ends(environ: dict[str, str]) -> None:
    connections = Connections(environ=environ)

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
    assert _closed(first[0]["client"]) and _closed(first[2]["client"])
    second = asyncio.run(attach_all())
    assert second[0]["client"] is not first[0]["client"]     # a new loop gets new clients


@ROUTES
def test_aclose_closes_the_running_loops_clients(environ: dict[str, str]) -> None:
    connections = Connections(environ=environ)

    async def attach_then_close() -> tuple[Any, bool]:
        kwargs = _call()
        await connections.attach(kwargs)
        await connections.aclose()
        return kwargs["client"], _closed(kwargs["client"])

    client, closed_before_loop_end = asyncio.run(attach_then_close())
    assert closed_before_loop_end and _closed(client)


@ROUTES
def test_each_loop_keeps_its_own_clients_and_aclose_closes_only_its_own(
    environ: dict[str, str],
) -> None:
    connections = Connections(environ=environ)
    loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]

    async def attach() -> Any:
        kwargs = _call()
        await connections.attach(kwargs)
        return kwargs["client"]

    try:
        first = loops[0].run_until_complete(attach())
        second = loops[1].run_until_complete(attach())
        assert second is not first                                  # each loop its own
        assert loops[0].run_until_complete(attach()) is first       # not swapped out by the other
        loops[1].run_until_complete(connections.aclose())
        assert _closed(second) and not _closed(first)               # only the running loop's
        assert loops[1].run_until_complete(attach()) is not second  # closed: a new one
    finally:
        for loop in loops:
            loop.run_until_complete(loop.shutdown_asyncgens())      # closes what is left
            loop.close()
    assert _closed(first)


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


@ROUTES
def test_loops_ending_without_aclose_leave_nothing_unclosed(environ: dict[str, str]) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONWARNINGS": "always",
           ROUTE_ENV: "", **environ}
    with FakeServer("ok") as srv:
        done = subprocess.run([sys.executable, "-c", _THREE_LOOPS, srv.base_url], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert srv.request_count == 3
    assert done.stdout.split() == ["ok", "ok", "ok"]
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr


_TWO_THREADS = """
import asyncio, sys, threading
from adf.llm.client import LiteLLMClient
from adf.llm.protocol import ChatRequest, Message
client = LiteLLMClient(cache=None, timeout_s=60.0)  # ONE client, used by both threads
both = threading.Barrier(2, timeout=120)
answers = {}
async def calls(name):
    both.wait()  # both loops are running before either makes a call
    got = []
    for i in range(40):
        request = ChatRequest(model="openai/fake", messages=(Message("user", f"{name}{i}"),),
                              api_base=sys.argv[1])
        got.append((await client.complete(request)).text)
        await asyncio.sleep(0)  # let the other thread's loop swap in and out
    return got
def run(name):
    answers[name] = asyncio.run(calls(name))  # each thread its own loop, ended by asyncio.run
threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
for t in threads: t.start()
for t in threads: t.join(300)
print(len(answers.get("a", [])), len(answers.get("b", [])), sorted(set(answers.get("a", []) + answers.get("b", []))))
"""


@ROUTES
def test_one_client_serves_loops_in_two_threads_at_once(environ: dict[str, str]) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONWARNINGS": "always",
           ROUTE_ENV: "", **environ}
    with FakeServer("ok") as srv:
        done = subprocess.run([sys.executable, "-c", _TWO_THREADS, srv.base_url], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert srv.request_count == 80, done.stderr
    assert done.stdout.split() == ["40", "40", "['ok']"], done.stderr
    # (litellm's own logging worker, one per process, may complain of the loop change;
    # adf's calls give it nothing to do, and it is litellm's to fix)
    assert "Unclosed" not in done.stderr, done.stderr
    assert "Exception in thread" not in done.stderr and "ModelError" not in done.stderr, done.stderr


def test_a_dropped_connection_is_retried_and_named_as_such() -> None:
    client = LiteLLMClient(cache=None, timeout_s=5.0, retry=FAST)
    with FakeServer("never", faults=FaultPlan(rate=1.0, kinds=("disconnect",))) as srv:
        with pytest.raises(ModelError) as err:
            asyncio.run(client.complete(ask(srv.base_url)))
        assert srv.request_count == FAST.max_retries + 1
    assert err.value.reason.endswith("Connection error: Server disconnected")
    assert "timed out" not in err.value.reason
