"""The fake OpenAI server itself: answers, usage, faults, clean shutdown (plain HTTP, no litellm)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from adf.testing.fake_server import (
    FakeReply,
    FakeServer,
    Fault,
    FaultPlan,
    last_user,
    rules,
    system_text,
)


def post(base_url: str, body: dict[str, Any], timeout: float = 5.0) -> tuple[int, bytes, Any]:
    req = urllib.request.Request(
        base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def chat(text: str, system: str = "") -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    return {"model": "m", "messages": [*messages, {"role": "user", "content": text}]}


def test_rules_answer_and_usage() -> None:
    responder = rules(
        [
            (lambda r: "apples" in last_user(r), "Answer: 7"),
            (lambda r: "terse" in system_text(r), FakeReply("x", completion_tokens=99)),
        ],
        default=lambda r: "echo " + last_user(r),
    )
    with FakeServer(responder) as srv:
        status, raw, _ = post(srv.base_url, chat("how many apples"))
        body = json.loads(raw)
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "Answer: 7"
        assert body["usage"]["prompt_tokens"] == 4  # ceil(15 / 4)
        assert body["usage"]["completion_tokens"] == 3  # ceil(9 / 4)
        body = json.loads(post(srv.base_url, chat("hi", system="be terse"))[1])
        assert body["usage"]["completion_tokens"] == 99
        body = json.loads(post(srv.base_url, chat("hello"))[1])
        assert body["choices"][0]["message"]["content"] == "echo hello"
        assert srv.request_count == 3
        assert srv.requests[0]["messages"][-1]["content"] == "how many apples"


def test_faults_by_index() -> None:
    plan = FaultPlan(
        at={
            0: Fault("429", retry_after=2),
            1: Fault("500"),
            2: Fault("malformed"),
            3: Fault("empty"),
        }
    )
    with FakeServer("fine", faults=plan) as srv:
        status, _, headers = post(srv.base_url, chat("a"))
        assert status == 429
        assert headers["Retry-After"] == "2"
        assert post(srv.base_url, chat("a"))[0] == 500
        status, raw, _ = post(srv.base_url, chat("a"))
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(raw)
        body = json.loads(post(srv.base_url, chat("a"))[1])
        assert body["choices"][0]["message"]["content"] == ""
        body = json.loads(post(srv.base_url, chat("a"))[1])
        assert body["choices"][0]["message"]["content"] == "fine"
        assert srv.faults_sent == [(0, "429"), (1, "500"), (2, "malformed"), (3, "empty")]


def test_rate_faults_are_deterministic_and_capped() -> None:
    plan = FaultPlan(rate=0.5, kinds=("500",), seed=3, max_per_request=1)

    def run() -> list[int]:
        with FakeServer("ok", faults=plan) as srv:
            statuses = []
            for i in range(20):
                statuses.append(post(srv.base_url, chat(f"q{i}"))[0])
                statuses.append(post(srv.base_url, chat(f"q{i}"))[0])
            return statuses

    first = run()
    assert first == run()
    assert 3 <= first.count(500) <= 17
    # max_per_request=1: no body fails twice
    assert all(500 not in (a, b) or a != b for a, b in zip(first[::2], first[1::2], strict=True))


def test_timeout_fault_and_clean_stop() -> None:
    before = threading.active_count()
    srv = FakeServer("late", faults=FaultPlan(at={0: Fault("timeout", delay_s=30)})).start()
    with pytest.raises(OSError):  # socket timeout on the client side
        post(srv.base_url, chat("a"), timeout=0.2)
    started = time.monotonic()
    srv.stop()  # wakes the sleeping handler instead of waiting 30 s
    assert time.monotonic() - started < 10  # far below the 30 s it would wait; loose for busy CI
    assert threading.active_count() == before


def test_latency_and_max_in_flight() -> None:
    with FakeServer("ok", latency_s=0.1) as srv:
        threads = [
            threading.Thread(target=post, args=(srv.base_url, chat(str(i)))) for i in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert srv.max_in_flight == 4
        assert srv.request_count == 4


def test_streaming_and_models() -> None:
    with FakeServer("streamed") as srv:
        status, raw, headers = post(srv.base_url, {**chat("a"), "stream": True})
        assert status == 200
        assert headers["Content-Type"] == "text/event-stream"
        events = [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert json.loads(events[0])["choices"][0]["delta"]["content"] == "streamed"
        with urllib.request.urlopen(srv.base_url + "/models", timeout=5) as resp:
            assert json.loads(resp.read())["data"][0]["id"] == "fake"


def test_server_in_a_child_process() -> None:
    from adf.testing.fake_process import FakeServerProcess

    with FakeServerProcess(reply="from child") as proc:
        status, raw, _ = post(proc.base_url, chat("a"))
        assert json.loads(raw)["choices"][0]["message"]["content"] == "from child"
        assert proc.stats() == {"requests": 1, "max_in_flight": 1}
        proc.reset()
        assert proc.stats()["requests"] == 0
    assert status == 200
