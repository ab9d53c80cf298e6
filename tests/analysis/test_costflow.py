"""The forecast's gate shares are what the trainer's gate does, counted over every outcome."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Mapping, Sequence

import pytest

from adf.analysis import costflow
from adf.analysis.cost import Scenario
from adf.analysis.costhistory import Rates
from adf.optim.gate import gate
from adf.optim.sampler import Pool
from adf.plan.paramvalue import ParamValue
from adf.plan.settings import TrainSettings
from adf.runtime.data import Sample


def samples(n: int, prefix: str) -> list[Sample]:
    return [Sample(f"{prefix}{i}", (("q", str(i)),), (("a", "x"),)) for i in range(n)]


def run_gate(right: Sequence[int], mini: list[Sample], mini_scores: list[float],
             val: list[Sample], val_score: float, **options: object) -> tuple[bool, int]:
    """The real gate on a candidate scoring 1 exactly on the samples in `right` (by position:
    the minibatch first, then validation); whether it reached validation, samples scored."""
    order = {s.id: i for i, s in enumerate([*mini, *val])}

    async def score(batch: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        return [float(order[s.id] in right) for s in batch]

    result = asyncio.run(gate(score, {}, mini, mini_scores, val, val_score,
                              **options))  # type: ignore[arg-type]
    reached = result.val_evaluated > 0 or (result.minibatch_after is not None
                                           and "minibatch" not in result.reason)
    return reached, result.val_evaluated


def weighted(n: int, p: float) -> list[tuple[tuple[int, ...], float]]:
    """Every set of positions a candidate gets right, with its probability."""
    out = []
    for bits in itertools.product((0, 1), repeat=n):
        right = tuple(i for i, b in enumerate(bits) if b)
        out.append((right, p ** len(right) * (1 - p) ** (n - len(right))))
    return out


@pytest.mark.parametrize(("errors", "passes", "fail_rate", "strict"), [
    (2, 0, 1.0, False), (2, 0, 0.5, True), (1, 1, 0.5, False), (1, 1, 0.5, True),
    (2, 2, 0.3, False), (2, 1, 0.7, False),
])
def test_the_minibatch_share_is_the_gates(errors: int, passes: int, fail_rate: float,
                                          strict: bool) -> None:
    mini = samples(errors + passes, "m")
    scores = [0.0] * errors + [1.0] * passes
    expected = sum(weight for right, weight in weighted(len(mini), 1 - fail_rate)
                   if run_gate(right, mini, scores, samples(1, "v"), 2.0,
                               minibatch_strict=strict)[0])
    assert costflow.pass_minibatch(errors, passes, fail_rate, strict=strict) == \
        pytest.approx(expected)


@pytest.mark.parametrize(("size", "chunk", "fail_rate", "ties"), [
    (6, 2, 0.5, False), (6, 2, 0.5, True), (7, 3, 0.3, False), (6, 4, 1.0, False),
    (5, 8, 0.5, False), (6, 1, 0.8, True),
])
def test_the_validation_share_is_the_gates(size: int, chunk: int, fail_rate: float,
                                           ties: bool) -> None:
    val = samples(size, "v")
    current = round((1 - fail_rate) * size) / size
    spent = sum(weight * run_gate(right, [], [], val, current, chunk=chunk, ties=ties)[1]
                for right, weight in weighted(size, 1 - fail_rate))
    assert costflow.val_share(size, chunk, fail_rate, ties=ties) == pytest.approx(spent / size)


def test_gates_per_step_counts_the_joint_gate_once_when_two_prompts_have_a_proposal() -> None:
    assert costflow.gates_per_step([1.0], 3, 0.5, joint=True) == 1.5  # one prompt: no joint
    assert costflow.gates_per_step([1.0, 1.0], 2, 1.0, joint=False) == 4
    assert costflow.gates_per_step([1.0, 1.0], 2, 1.0, joint=True) == 5  # both usable: once more
    assert costflow.gates_per_step([1.0, 0.0], 2, 1.0, joint=True) == 2  # only one asked
    assert costflow.gates_per_step([1.0, 1.0], 0, 1.0, joint=True) == 0  # no proposals


@pytest.mark.parametrize(("batch", "failing", "max_errors", "max_passed"), [
    (4, 2, 2, 2), (4, 1, 2, 2), (4, 4, 2, 2), (4, 3, 2, 4), (8, 2, 3, 1), (6, 5, 1, 6),
    (4, 0, 2, 2), (8, 4, 4, 8),
])
def test_the_forecast_checks_a_proposal_on_what_the_sampler_draws(
        batch: int, failing: int, max_errors: int, max_passed: int) -> None:
    """One draw rule (`adf.plan.gaterules`): the forecast's minibatch is the sampler's."""
    scenario = Scenario(TrainSettings(batch_size=batch, max_errors=max_errors,
                                      max_passed=max_passed),
                        rates=Rates(fail_rate=failing / batch))
    pool = Pool(cap=batch).add([(f"f{i}", 0.0) for i in range(failing)]
                               + [(f"p{i}", 1.0) for i in range(batch - failing)])
    errors, passed = pool.draw(random.Random(0), max_errors, max_passed)
    assert (scenario.errors, scenario.checked) == (len(errors), len(errors) + len(passed))
    assert len(passed) <= min(max_passed, 2 * len(errors))


@pytest.mark.parametrize(("size", "chunk", "fail_rate", "ties"), [
    (6, 2, 0.5, False), (6, 2, 0.5, True), (7, 3, 0.3, False), (5, 8, 0.8, True),
])
def test_the_win_share_is_the_gates(size: int, chunk: int, fail_rate: float,
                                    ties: bool) -> None:
    val = samples(size, "v")
    current = round((1 - fail_rate) * size) / size
    won = 0.0
    order = {s.id: i for i, s in enumerate(val)}
    for right, weight in weighted(size, 1 - fail_rate):

        async def score(batch: Sequence[Sample], values: Mapping[str, ParamValue],
                        right: tuple[int, ...] = right) -> list[float]:
            return [float(order[s.id] in right) for s in batch]

        result = asyncio.run(gate(score, {}, [], [], val, current, chunk=chunk, ties=ties))
        won += weight * result.accepted
    assert costflow.val_wins(size, fail_rate, ties=ties) == pytest.approx(won)
    assert costflow.val_wins(0, fail_rate, ties=ties) == 1.0  # no validation: the minibatch


def test_an_accepted_proposal_ends_its_prompts_attempts() -> None:
    never = costflow.prompt_flow([1.0, 0.5], 3, 0.5, 0.0, joint=False)
    assert never.calls == (3.0, 1.5) and never.gates == 2.25 and never.accepts == 0.0
    # every screened proposal wins: a prompt tries until one passes the cheap checks
    sure = costflow.prompt_flow([1.0], 3, 0.5, 1.0, joint=False)
    assert sure.calls == (1 + 0.5 + 0.25,) and sure.gates == 0.5 * 1.75
    assert sure.accepts == 1 - 0.5 ** 3
    # joint: both have a usable first proposal, gated together and accepted: one call each
    joint = costflow.prompt_flow([1.0, 1.0], 3, 1.0, 1.0, joint=True)
    assert joint.calls == (1.0, 1.0) and joint.gates == 1.0 and joint.accepts == 1.0
    # with nothing accepted the joint flow is the old count: every attempt, one joint gate more
    assert costflow.prompt_flow([1.0, 1.0], 2, 1.0, 0.0, joint=True).gates == 5
    half = costflow.prompt_flow([1.0, 1.0], 2, 1.0, 0.5, joint=True)
    assert half.calls[0] == pytest.approx(0.5 * 1 + 0.5 * 1.5)  # accepted jointly, or alone
    assert 0.5 < half.accepts < 1.0


def test_the_failure_rate_settles_at_the_rate_after_an_acceptance() -> None:
    assert costflow.settled_fail_rate(0.8, 0.4, 0.0, 4) == 0.8  # nothing accepted
    assert costflow.settled_fail_rate(0.8, 0.4, 1.0, 4) == pytest.approx(0.8 / 4 + 0.4 * 3 / 4)
    assert costflow.settled_fail_rate(0.8, 0.8, 0.7, 4) == pytest.approx(0.8)  # no drop
    half = costflow.settled_fail_rate(0.8, 0.4, 0.5, 2)  # step 2 after an acceptance: half
    assert half == pytest.approx(0.8 * 0.75 + 0.4 * 0.25)


def test_demo_sets_fill_as_demo_proposals_are_accepted() -> None:
    calls = costflow.ForwardCalls(before=20, step=10, demo=6, after=8)
    # nothing accepted: only the demo proposals' own checks run with a full set
    assert costflow.demo_fill(calls, steps=2, accept=0.0, proposals=1, params=1) == \
        pytest.approx(2 * 6 / (20 + 8 + 2 * 16))
    # every proposal accepted: the second step and the final test run with the set full
    assert costflow.demo_fill(calls, steps=2, accept=1.0, proposals=1, params=1) == \
        pytest.approx((2 * 6 + 10 + 8) / (20 + 8 + 2 * 16))
    shares = [costflow.demo_fill(calls, steps=3, accept=a, proposals=1, params=1)
              for a in (0.0, 0.2, 0.5, 1.0)]
    assert shares == sorted(shares) and 0 < shares[0] < shares[-1] < 1
    # of two demos parameters, a proposal fills one: its checks count half full
    assert costflow.demo_fill(calls, steps=2, accept=0.0, proposals=1, params=2) == \
        pytest.approx(6 / (20 + 8 + 2 * 16))
    # no demos parameter or no step: the sets stay as they are
    assert costflow.demo_fill(calls, steps=2, accept=1.0, proposals=1, params=0) == 0.0
    assert costflow.demo_fill(calls, steps=0, accept=1.0, proposals=1, params=1) == 0.0


def test_the_phases_and_the_demo_fill_read_one_count_of_forward_samples() -> None:
    samples = costflow.Samples(before=20, after=10, batch=4, extra=1.5, reruns=0.5, gates=3,
                               demo_gates=1, checked=3, validated=6)
    phases = dict(samples.phases(steps=2))
    calls = samples.calls()
    # every forward sample a phase counts is in the demo fill's calls, and no other
    assert sum(phases.values()) == pytest.approx(
        calls.before + calls.after + 2 * (calls.step + calls.demo))
    assert phases["forward, scoring validation and test"] == calls.before + calls.after == 30
    assert calls.demo == 1 * (3 + 6) and calls.step == 4 + 1.5 + 0.5 + 2 * (3 + 6)
    # the steps' samples only, as a run's records measure them
    assert samples.calls(scoring=False).before == samples.calls(scoring=False).after == 0
