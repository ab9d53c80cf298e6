from __future__ import annotations

import asyncio
import socket
import time

import pytest
from rt_helpers import client, responder
from test_runtime_forward import counting

from adf.llm.accounting import Accounting
from adf.runtime.data import Sample
from adf.runtime.engine import ModelUnavailable, evaluate
from adf.testing.fake_server import FakeServer, Fault, FaultPlan, last_user


def answer(request: dict) -> str:  # type: ignore[type-arg]
    number = int(last_user(request).split()[-1].rstrip("?"))
    return f"Answer: {number if number % 3 else number + 1}"


def test_eval_of_200_samples_survives_20_percent_faults() -> None:
    samples = [Sample(f"s{i}", (("question", f"How many apples? {i}"),), (("answer", i),))
               for i in range(200)]
    faults = FaultPlan(rate=0.2, kinds=("429", "500", "timeout", "malformed", "empty"),
                       seed=7, max_per_request=2, retry_after=0.01, delay_s=3.0)
    # a "timeout" fault sleeps well past the client's timeout, and an answered request stays
    # well inside it even on a loaded machine, so only injected timeouts time out
    with FakeServer(responder(answer), faults=faults) as server:
        workflow = counting(server.base_url)
        accounting = Accounting()
        result = asyncio.run(evaluate(
            workflow, samples, client(concurrency=16, timeout_s=1.5, sinks=[accounting]),
            concurrency=16))
        injected = server.faults_sent
        received = server.request_count
    assert len(injected) > 20
    assert {kind for _, kind in injected} >= {"429", "500", "malformed"}
    # every sample is accounted for: scored, or failed with a reason
    assert [s.sample.id for s in result.samples] == [s.id for s in samples]
    for sample in result.samples:
        assert sample.score is not None
        assert sample.error is None or sample.error.message
    correct = sum(1 for s in result.samples if s.score == 1.0)
    assert correct == sum(1 for i in range(200) if i % 3)
    usage = accounting.total
    assert usage.retries > 0 and usage.calls == 200
    # every request the server received is counted once, retries included
    assert usage.requests == received == usage.calls + usage.retries - usage.cache_hits


def test_unreachable_server_stops_with_one_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workflow = counting(f"http://127.0.0.1:{port}/v1")
    samples = [Sample(f"s{i}", (("question", "q"),), (("answer", 1),)) for i in range(200)]
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as caught:
        asyncio.run(evaluate(workflow, samples, client(), concurrency=4))
    assert time.perf_counter() - started < 20
    assert "\n" not in caught.value.reason and caught.value.reason


def test_a_call_that_fails_after_its_retries_is_neither_right_nor_wrong() -> None:
    samples = [Sample(f"s{i}", (("question", f"How many apples? {i}"),), (("answer", i),))
               for i in (1, 2, 4, 5)]
    faults = FaultPlan(rate=1.0, kinds=("500",), seed=3)  # every request fails...

    def always(request: dict) -> str:  # type: ignore[type-arg]
        return f"Answer: {int(last_user(request).split()[-1].rstrip('?'))}"

    with FakeServer(responder(always), faults=faults) as server:
        workflow = counting(server.base_url)
        result = asyncio.run(evaluate(workflow, samples, client(max_retries=1), concurrency=2,
                                      abort_after=None))
        requests = server.request_count
    assert requests == 8  # one try and one retry per sample
    assert all(s.call_failed and s.score is None for s in result.samples)
    assert result.score is None  # nothing was scored, so no score: not 0.0
    assert len(result.call_failed()) == 4
    with FakeServer(responder(always), faults=FaultPlan(at={0: Fault("500"), 1: Fault("500")})) \
            as server:
        workflow = counting(server.base_url)
        mixed = asyncio.run(evaluate(workflow, samples, client(max_retries=1), concurrency=1,
                                     abort_after=None))
    # the first sample never got an answer; the three others are all correct: score 1.0
    assert [s.call_failed for s in mixed.samples] == [True, False, False, False]
    assert mixed.score == 1.0
