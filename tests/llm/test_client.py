"""LiteLLMClient through the real litellm path against the fake server: retries, faults, caps."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from llm_helpers import ask, dead_port

from adf.llm.client import RetryPolicy, UnreachableError
from adf.llm.protocol import ChatReply, ModelError
from adf.testing.fake_server import FakeReply, FakeServer, Fault, FaultPlan, last_user


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_reply_usage_and_request_fields(recorder: Any) -> None:
    rec = recorder()
    with FakeServer(lambda req: "echo " + last_user(req)) as srv:
        reply = run(
            rec.client.complete(
                ask(srv.base_url, "ping", temperature=0.0, max_tokens=7, extra=(("top_p", 0.5),))
            )
        )
        body = srv.requests[0]
    assert reply.text == "echo ping"
    assert (reply.prompt_tokens, reply.completion_tokens) == (1, 3)
    assert reply.cached is False and reply.retries == 0
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 7
    assert body["top_p"] == 0.5
    assert "response_format" not in body


def test_faults_are_retried_and_counted(recorder: Any) -> None:
    rec = recorder()
    plan = FaultPlan(
        at={0: Fault("500"), 1: Fault("malformed"), 2: Fault("empty"), 3: Fault("disconnect")}
    )
    with FakeServer("Answer: 7", faults=plan) as srv:
        reply = run(rec.client.complete(ask(srv.base_url, node="solve")))
        assert srv.request_count == 5
    assert reply.text == "Answer: 7"
    assert reply.retries == 4
    assert rec.accounting.total.retries == 4
    assert rec.accounting.by_node["solve"].retries == 4
    assert rec.accounting.total.failures == 0
    assert rec.trace.records[0].retries == 4


def test_retry_after_is_honoured() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    from adf.llm.client import LiteLLMClient

    client = LiteLLMClient(retry=RetryPolicy(base_s=0.001), sleep=sleep, timeout_s=5)
    plan = FaultPlan(at={0: Fault("429", retry_after=1.5), 1: Fault("429", retry_after=None)})
    with FakeServer("ok", faults=plan) as srv:
        reply = run(client.complete(ask(srv.base_url)))
    assert reply.retries == 2
    assert waits[0] >= 1.5  # what the server asked for
    assert waits[1] < 0.01  # no Retry-After: plain backoff


def test_retry_after_really_waits(recorder: Any) -> None:
    rec = recorder()
    with FakeServer("ok", faults=FaultPlan(at={0: Fault("429", retry_after=0.3)})) as srv:
        started = time.monotonic()
        reply = run(rec.client.complete(ask(srv.base_url)))
        elapsed = time.monotonic() - started
    assert reply.retries == 1
    assert elapsed >= 0.3


def test_backoff_is_seeded_and_capped() -> None:
    policy = RetryPolicy(base_s=1.0, max_delay_s=4.0, jitter=0.5, seed=7)
    delays = [policy.delay("k", n, None) for n in range(5)]
    assert delays == [policy.delay("k", n, None) for n in range(5)]
    assert all(0.5 * min(4.0, 2.0**n) <= d <= min(4.0, 2.0**n) for n, d in enumerate(delays))
    assert policy.delay("k", 0, None) != RetryPolicy(seed=8, base_s=1.0).delay("k", 0, None)


def test_timeout_is_retried(recorder: Any) -> None:
    rec = recorder(timeout_s=0.3)
    with FakeServer("late", faults=FaultPlan(at={0: Fault("timeout", delay_s=30)})) as srv:
        started = time.monotonic()
        reply = run(rec.client.complete(ask(srv.base_url)))
        elapsed = time.monotonic() - started
    assert reply.text == "late"
    assert reply.retries == 1
    assert elapsed < 10.0  # gave up after 0.3 s instead of waiting the 30 s reply out


def test_persistent_faults_end_in_one_model_error(recorder: Any) -> None:
    rec = recorder(retry=RetryPolicy(max_retries=2, base_s=0.001))
    plan = FaultPlan(rate=1.0, kinds=("malformed",))
    with FakeServer("never", faults=plan) as srv:
        with pytest.raises(ModelError, match="failed after 3 attempts") as err:
            run(rec.client.complete(ask(srv.base_url, node="solve")))
        assert srv.request_count == 3
    assert "\n" not in err.value.reason
    assert rec.accounting.total.failures == 1
    assert rec.accounting.total.retries == 2
    assert rec.trace.records[0].error == err.value.reason


def test_empty_content_is_an_error_after_retries(recorder: Any) -> None:
    rec = recorder(retry=RetryPolicy(max_retries=1, base_s=0.001))
    with FakeServer("", faults=None) as srv:
        with pytest.raises(ModelError, match="empty reply"):
            run(rec.client.complete(ask(srv.base_url)))
        assert srv.request_count == 2


def test_client_errors_are_not_retried(recorder: Any) -> None:
    rec = recorder()
    with FakeServer(lambda req: FakeReply("no such model", status=404)) as srv:
        with pytest.raises(ModelError, match="not found") as err:
            run(rec.client.complete(ask(srv.base_url)))
        assert srv.request_count == 1
    assert err.value.status == 404


def test_concurrency_cap(recorder: Any) -> None:
    rec = recorder(concurrency=3, cache=False)
    with FakeServer("ok", latency_s=0.05) as srv:

        async def many() -> list[ChatReply]:
            return await asyncio.gather(
                *(rec.client.complete(ask(srv.base_url, f"q{i}")) for i in range(12))
            )

        replies = run(many())
        assert srv.max_in_flight == 3
        assert srv.request_count == 12
    assert len(replies) == 12


def test_one_client_serves_several_event_loops(recorder: Any) -> None:
    rec = recorder(concurrency=2, cache=False)
    with FakeServer("ok", latency_s=0.02) as srv:
        for loop_round in range(2):

            async def many(tag: int = loop_round) -> list[ChatReply]:
                return await asyncio.gather(
                    *(rec.client.complete(ask(srv.base_url, f"{tag}-{i}")) for i in range(6))
                )

            assert len(run(many())) == 6
        assert srv.max_in_flight == 2


def test_unreachable_server_gives_one_clear_error(recorder: Any) -> None:
    rec = recorder()
    base = f"http://127.0.0.1:{dead_port()}/v1"

    async def many() -> list[BaseException | ChatReply]:
        return await asyncio.gather(
            *(rec.client.complete(ask(base, f"q{i}")) for i in range(40)), return_exceptions=True
        )

    started = time.monotonic()
    results = run(many())
    assert time.monotonic() - started < 3.0
    assert all(isinstance(r, UnreachableError) for r in results)
    reasons = {r.reason for r in results if isinstance(r, ModelError)}
    assert reasons == {f"cannot reach model 'openai/fake' at {base}: connection refused"}
    assert list(rec.client.unreachable) == [base]
    assert rec.accounting.total.retries == 0
    assert rec.accounting.total.failures == 40


def test_missing_key_variable_is_named(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADF_TEST_MISSING_KEY", raising=False)
    rec = recorder()
    with FakeServer("ok") as srv:
        with pytest.raises(ModelError, match="ADF_TEST_MISSING_KEY"):
            run(rec.client.complete(ask(srv.base_url, api_key_env="ADF_TEST_MISSING_KEY")))
        assert srv.request_count == 0


def test_no_key_sends_a_dummy_to_custom_servers(
    recorder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-provider-key-must-not-leave")
    rec = recorder()
    with FakeServer("ok") as srv:
        run(rec.client.complete(ask(srv.base_url)))
        auth = srv.headers[0]["authorization"]
    assert "sk-provider-key-must-not-leave" not in auth


SCHEMA = json.dumps(
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, sort_keys=True
)


def test_local_model_gets_json_object_with_schema(recorder: Any) -> None:
    rec = recorder()
    with FakeServer('{"n": 3}') as srv:
        reply = run(
            rec.client.complete(ask(srv.base_url, model="openai/local", json_schema=SCHEMA))
        )
        sent = srv.requests[0]["response_format"]
    assert sent == {"type": "json_object", "schema": json.loads(SCHEMA)}
    assert reply.structured == "schema"
    assert rec.trace.records[0].schema_form == "json_object"


@pytest.mark.parametrize("status", [400, 422])
def test_forced_json_schema_form_and_fallback_on_rejection(recorder: Any, status: int) -> None:
    rec = recorder()

    def picky(req: dict[str, Any]) -> str | FakeReply:
        if "response_format" in req:  # 422: how a pydantic-validated server says it
            return FakeReply("response_format is not supported", status=status)
        return '{"n": 3}'

    with FakeServer(picky) as srv:
        request = ask(srv.base_url, json_schema=SCHEMA, extra=(("structured", "json_schema"),))
        reply = run(rec.client.complete(request))
        first, second = srv.requests
        assert first["response_format"]["type"] == "json_schema"
        assert first["response_format"]["json_schema"]["schema"] == json.loads(SCHEMA)
        assert "response_format" not in second
        assert "structured" not in first  # adf's own option is not sent
        assert reply.structured == "none"
        # remembered: the next structured call goes without a schema at once
        run(
            rec.client.complete(
                ask(
                    srv.base_url,
                    "again",
                    json_schema=SCHEMA,
                    extra=(("structured", "json_schema"),),
                )
            )
        )
        assert srv.request_count == 3


def test_unknown_model_sends_no_schema_by_default(recorder: Any) -> None:
    rec = recorder()
    with FakeServer('{"n": 1}') as srv:
        reply = run(rec.client.complete(ask(srv.base_url, json_schema=SCHEMA)))
        assert "response_format" not in srv.requests[0]
    assert reply.structured == "none"


def test_cost_known_for_priced_models(recorder: Any) -> None:
    rec = recorder()
    with FakeServer("a fairly long answer " * 5) as srv:
        priced = run(rec.client.complete(ask(srv.base_url, model="openai/gpt-4o-mini")))
        unpriced = run(rec.client.complete(ask(srv.base_url, model="openai/fake")))
    assert priced.cost_usd is not None and priced.cost_usd > 0
    assert unpriced.cost_usd is None
    assert rec.accounting.total.cost_usd == pytest.approx(priced.cost_usd)
    assert rec.accounting.total.unpriced == 1


def test_the_local_model_costs_nothing(recorder: Any) -> None:
    rec = recorder()
    with FakeServer("an answer") as srv:
        local = ask(srv.base_url, model="openai/local", extra=(("local_model", "smol.gguf:1"),))
        reply = run(rec.client.complete(local))
    assert reply.cost_usd == 0.0
    assert rec.accounting.total.cost_usd == 0.0 and rec.accounting.total.unpriced == 0


def test_accounting_summary_line(recorder: Any) -> None:
    rec = recorder()
    with FakeServer("four", faults=FaultPlan(at={0: Fault("500")})) as srv:
        run(rec.client.complete(ask(srv.base_url, "abcd", node="a", purpose="backward")))
        run(rec.client.complete(ask(srv.base_url, "abcd", node="b")))
        received = srv.request_count
    total = rec.accounting.total
    # tokens count every answered call, the cache hit included; requests only what was sent
    assert total.summary() == (
        "2 calls (1 cached, 2 provider requests, 1 retries, 0 failed), 2+2 tokens, cost unknown"
    )
    assert total.requests == received == 2
    assert set(rec.accounting.by_purpose) == {"backward", "forward"}
    assert rec.accounting.by_node["b"].cache_hits == 1
    assert rec.accounting.to_json()["total"]["requests"] == 2
