"""Cluster-wide admission without Ray: in-flight cap, per-window starts, budget, lost leases."""

from __future__ import annotations

import asyncio

import pytest

from adf.scale.limits import Allowance, ClusterLimits, Gate, GateService, Lease, Refusal


def test_in_flight_cap_is_per_endpoint_and_a_finished_lease_frees_a_slot() -> None:
    gate = Gate(ClusterLimits(concurrency=2))
    first, second = gate.admit("a", 0.0), gate.admit("a", 0.0)
    assert isinstance(first, Lease) and isinstance(second, Lease)
    assert isinstance(gate.admit("a", 0.0), float)  # full: wait
    assert isinstance(gate.admit("b", 0.0), Lease)  # another endpoint has its own cap
    gate.finish(first)
    assert isinstance(gate.admit("a", 0.1), Lease)


def test_every_provider_request_counts_against_the_budget() -> None:
    gate = Gate(ClusterLimits(concurrency=1))
    gate.open(Allowance(requests=3))
    assert [gate.request("a", 0.0) for _ in range(3)] == [None, None, None]
    refused = gate.request("b", 0.0)
    assert isinstance(refused, Refusal) and refused.limit == "calls"
    gate.open(Allowance(requests=1))  # the next evaluation counts from zero
    assert gate.request("a", 0.0) is None


def test_per_window_starts_wait_until_the_oldest_leaves_the_window() -> None:
    gate = Gate(ClusterLimits(concurrency=10, per_window=2, window_s=1.0))
    assert gate.request("a", 0.0) is None and gate.request("a", 0.0) is None
    assert gate.request("a", 0.25) == pytest.approx(0.75)
    assert gate.request("b", 0.25) is None  # another endpoint has its own window
    assert gate.request("a", 1.0) is None


def test_tokens_and_dollars_stop_requests_once_spent_cache_hits_included() -> None:
    gate = Gate(ClusterLimits())
    gate.open(Allowance(tokens=10))
    gate.finish(None, tokens=10)  # a cache hit's tokens count too
    refused = gate.request("a", 0.0)
    assert isinstance(refused, Refusal) and refused.limit == "tokens"
    gate.open(Allowance(usd=0.5))
    lease = gate.admit("a", 0.0)
    assert isinstance(lease, Lease) and gate.request("a", 0.0) is None
    gate.finish(lease, usd=0.5)
    refused = gate.request("a", 0.0)
    assert isinstance(refused, Refusal) and refused.limit == "usd"


def test_a_lease_never_returned_stops_holding_its_slot() -> None:
    gate = Gate(ClusterLimits(concurrency=1, lease_s=5.0))
    assert isinstance(gate.admit("a", 0.0), Lease)  # its worker dies: never finished
    assert gate.admit("a", 1.0) == pytest.approx(4.0)
    assert isinstance(gate.admit("a", 5.0), Lease)


def test_service_keeps_the_cap_and_window_under_concurrent_callers() -> None:
    service = GateService(ClusterLimits(concurrency=3, per_window=4, window_s=0.3))
    starts: list[float] = []  # the instants the gate granted a request (its own clock)
    in_flight = 0
    peak = 0
    grant = service.gate.request

    def granting(key: str, now: float) -> Refusal | float | None:
        got = grant(key, now)
        if got is None:
            starts.append(now)
        return got

    service.gate.request = granting  # type: ignore[method-assign]

    async def call() -> None:
        nonlocal in_flight, peak
        lease = await service.acquire("a")
        assert await service.request("a") is None
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        await service.release(lease, 1, 0.0)

    async def main() -> None:
        await asyncio.gather(*(call() for _ in range(12)))

    asyncio.run(main())
    assert peak <= 3
    starts.sort()
    for i in range(len(starts) - 4):
        assert starts[i + 4] - starts[i] >= 0.3 - 1e-3
