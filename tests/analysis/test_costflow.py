"""The forecast's gate shares are what the trainer's gate does, counted over every outcome."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence

import pytest

from adf.analysis import costflow
from adf.optim.gate import gate
from adf.plan.paramvalue import ParamValue
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
