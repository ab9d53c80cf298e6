"""adf's calls skip litellm's own pricing and success logging; everyone else's keep them.

Counted by spies on the two litellm functions that do that work (its cost
calculator and its standard logging payload), through the real litellm path
against the fake server. A bare `litellm.acompletion` in the same test shows
the spies do see litellm's full path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from llm_helpers import ask

from adf.llm import payload
from adf.llm.catalogue import Price, price
from adf.llm.provider import CALL_ID_PREFIX, adf_priced, call_id, load_litellm
from adf.testing.fake_server import FakeServer

PRICED = "openai/gpt-4o-mini"


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts of litellm's cost calculations and standard logging payloads, for adf's calls
    (`priced`, `logged`) and for anyone else's (`*_other`). Told apart by the call id of the
    logging object, so the success handling of an earlier test's calls, which litellm may
    finish late in a thread of its own, never counts as adf's."""
    litellm = load_litellm()
    from litellm.litellm_core_utils import litellm_logging

    counts = {"priced": 0, "logged": 0, "priced_other": 0, "logged_other": 0}

    def counting(name: str, function: Any, logging_arg: str, position: int) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            logging_obj = kwargs.get(logging_arg, args[position] if len(args) > position else None)
            call = getattr(logging_obj, "litellm_call_id", None)
            ours = isinstance(call, str) and call.startswith(CALL_ID_PREFIX)
            counts[name if ours else f"{name}_other"] += 1
            return function(*args, **kwargs)

        return spy

    monkeypatch.setattr(
        litellm, "response_cost_calculator",
        counting("priced", litellm.response_cost_calculator, "litellm_logging_obj", 99),
    )
    monkeypatch.setattr(
        litellm_logging,
        "get_standard_logging_object_payload",
        counting("logged", litellm_logging.get_standard_logging_object_payload, "logging_obj", 4),
    )
    yield counts


async def _bare(base_url: str) -> None:
    litellm = load_litellm()
    await litellm.acompletion(
        model=PRICED, messages=[{"role": "user", "content": "bare"}], api_base=base_url,
        api_key="x", num_retries=0, max_retries=0,
    )
    await asyncio.sleep(0.2)  # litellm logs success in a task of its own


async def _through_adf(rec: Any, base_url: str) -> Any:
    reply = await rec.client.complete(ask(base_url, "priced by adf", model=PRICED))
    await asyncio.sleep(0.2)
    return reply


def test_adf_prices_its_calls_and_litellm_does_not(recorder: Any, spies: dict[str, int]) -> None:
    rec = recorder()
    with FakeServer("a fairly long answer " * 5) as srv:
        reply = asyncio.run(_through_adf(rec, srv.base_url))
        assert (spies["priced"], spies["logged"]) == (0, 0)
        before = spies["priced_other"], spies["logged_other"]
        asyncio.run(_bare(srv.base_url))
    # the spies see litellm's own path for a call that is not adf's
    assert spies["priced_other"] > before[0] and spies["logged_other"] > before[1]
    known = price(PRICED)
    assert known is not None
    assert reply.cost_usd == pytest.approx(known.of(reply.prompt_tokens, reply.completion_tokens))
    assert rec.accounting.total.cost_usd == pytest.approx(reply.cost_usd)
    (trace,) = rec.trace.records
    assert trace.cost_usd == reply.cost_usd and trace.requests == 1


def test_a_registered_litellm_callback_gets_the_full_path(
    recorder: Any, spies: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    litellm = load_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    for name in ("input_callback", "success_callback", "failure_callback",
                 "_async_success_callback", "_async_failure_callback"):
        monkeypatch.setattr(litellm, name, [])  # litellm copies `callbacks` into these
    monkeypatch.setattr(litellm, "callbacks", [CustomLogger()])
    rec = recorder()
    with FakeServer("an answer") as srv:
        reply = asyncio.run(_through_adf(rec, srv.base_url))
    assert reply.cost_usd is not None and reply.cost_usd > 0
    assert spies["priced"] >= 1 and spies["logged"] >= 1


def test_only_calls_marked_by_adf_skip_the_bookkeeping(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = load_litellm()

    class Call:
        def __init__(self, ident: str, callbacks: list[Any] | None = None) -> None:
            self.litellm_call_id = ident
            self.dynamic_async_success_callbacks = callbacks

    assert call_id().startswith(CALL_ID_PREFIX) and call_id() != call_id()
    assert adf_priced(litellm, Call(call_id()))
    assert not adf_priced(litellm, Call("0f6c0c1e-some-uuid"))
    assert not adf_priced(litellm, Call(call_id(), callbacks=[print]))
    monkeypatch.setattr(litellm, "success_callback", [print])
    assert not adf_priced(litellm, Call(call_id()))


def test_each_attempt_carries_a_fresh_adf_call_id() -> None:
    kwargs = payload.call_kwargs(ask("http://127.0.0.1:1/v1"), 30.0, {}, [])
    first, second = (payload.attempt(kwargs, ask(None), "none") for _ in range(2))
    assert first["litellm_call_id"].startswith(CALL_ID_PREFIX)
    assert first["litellm_call_id"] != second["litellm_call_id"]
    assert "litellm_call_id" not in kwargs and "response_format" not in first


def test_cached_prompt_tokens_are_billed_at_the_cached_rate() -> None:
    rate = Price(prompt=1e-6, completion=4e-6, cached_prompt=0.25e-6)
    assert rate.of(1000, 100) == pytest.approx(1000e-6 + 400e-6)
    assert rate.of(1000, 100, cached_tokens=800) == pytest.approx(200e-6 + 200e-6 + 400e-6)
    assert rate.of(10, 0, cached_tokens=50) == pytest.approx(10 * 0.25e-6)  # never above prompt
    assert Price(1e-6, 4e-6).of(1000, 100, cached_tokens=800) == pytest.approx(1400e-6)
    known = price(PRICED)
    assert known is not None and known.cached_prompt is not None
    assert payload.cost(PRICED, 1000, 10, 1000) < payload.cost(PRICED, 1000, 10)  # type: ignore[operator]
    assert payload.cost("openai/local", 10, 10) == 0.0
    assert payload.cost("openai/fake", 10, 10) is None
