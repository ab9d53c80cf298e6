"""Where the language-v2 property tests send their model calls.

By default through the real path: litellm to the fake OpenAI server over
HTTP. With `ADF_V2_TRANSPORT=direct` the same responder is called in
process instead (no HTTP, no litellm), which makes the large runs of the
routing properties (`ADF_V2_EXAMPLES=500`) affordable on a small machine;
the forward and backward passes under test are the same either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rt_helpers import client
from rt_plans import model

from adf.compiler.pipeline import compile_source
from adf.llm.protocol import ChatReply, ChatRequest
from adf.llm.toolcall import encode_tool_call
from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeReply, FakeServer, Request, last_user

DIRECT = os.environ.get("ADF_V2_TRANSPORT", "") == "direct"
EXAMPLES = int(os.environ.get("ADF_V2_EXAMPLES", "25"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def compiled(source: str) -> Plan:
    """A generated program's plan; it must compile."""
    result = compile_source(source, "gen.adf")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


def header(draw: st.DrawFn, n_params: int) -> tuple[list[str], Callable[[], str]]:
    """A generated program's first lines (the model, `question`, `answer` and
    `n_params` prompt params `p0`, `p1`, ..., each frozen or not) and a drawer
    of an llm's system list over those params (zero to two of them)."""
    lines = ['model m = "openai/fake"', "input question: str", "target answer: str"]
    for i in range(n_params):
        frozen = " frozen" if draw(st.booleans()) else ""
        lines.append(f'param p{i}: prompt{frozen} = "Prompt {i}."')

    def system() -> str:
        used = draw(st.lists(st.integers(0, n_params - 1), max_size=2, unique=True))
        return ", ".join(f"p{u}" for u in used)

    return lines, system


def tag(text: str) -> int:
    """A stable number from a text: scripted replies pick by it."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def loop_reply(request: Request) -> str:
    """The task model of the loop properties (until, nested): a `(bool)` stop check says
    true for one text in three; any other prompt gets `out-` and its text's tag."""
    text = last_user(request)
    number = tag(text)
    if text.endswith("(bool)"):
        return "true" if number % 3 == 0 else "false"
    return f"out-{number:x}"


def questions(n: int) -> list[Sample]:
    """`n` samples whose answer no generated program ever gives."""
    return [Sample(f"s{i}", (("question", f"question {i}"),), (("answer", "never"),))
            for i in range(n)]


class DirectClient:
    """A `ModelClient` that hands each request to a fake-server responder in process
    (the tools a request offers included; a native tool call comes back as the text
    the litellm path would give)."""

    def __init__(self, respond: Callable[[Request], Any]) -> None:
        self.respond = respond
        self.count = 0
        self.texts: list[str] = []  # the last user message of each request

    async def complete(self, request: ChatRequest) -> ChatReply:
        self.count += 1
        body: Request = {"model": request.model,
                         "messages": [{"role": m.role, "content": m.content}
                                      for m in request.messages]}
        if request.tools is not None:
            body["tools"] = json.loads(request.tools)
        self.texts.append(last_user(body))
        reply = self.respond(body)
        if isinstance(reply, FakeReply):
            reply = encode_tool_call(*reply.tool_calls[0]) if reply.tool_calls else reply.text
        return ChatReply(str(reply), 1, 1, 0.0, False, 0.0)


@attrs.frozen
class Run:
    result: Any
    grads: Any
    forward_requests: int
    backward_requests: int
    backward_texts: tuple[str, ...]  # the last user message of each backward request


def run_both(workflow: Plan, samples: list[Sample], respond: Callable[[Request], Any],
             keep_requests: bool = False, direct: bool = DIRECT) -> Run:
    """Forward then backward over `samples`, counting the requests of each pass
    (in process when `direct`)."""
    if direct:
        local = DirectClient(respond)
        result = asyncio.run(evaluate(workflow, samples, local))
        forward = local.count
        grads = asyncio.run(backward(workflow, result, local))
        return Run(result, grads, forward, local.count - forward, tuple(local.texts[forward:]))
    with _server(respond) as url:
        bound = replace(workflow, models=(model("m", url[0]),))
        result = asyncio.run(evaluate(bound, samples, client(concurrency=4)))
        forward = url[1].request_count
        grads = asyncio.run(backward(bound, result, client(concurrency=4)))
        texts = tuple(last_user(r) for r in url[1].requests[forward:]) if keep_requests else ()
        return Run(result, grads, forward, url[1].request_count - forward, texts)


@contextmanager
def _server(respond: Callable[[Request], Any]) -> Iterator[tuple[str, FakeServer]]:
    with FakeServer(respond) as server:
        yield server.base_url, server
