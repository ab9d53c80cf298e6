"""The runtime's public API: evaluate a batch, run one sample, compute feedback.

Takes a compiled `Plan`, samples, and a `ModelClient`; gives `EvalResult`
(per-sample traces, scores and loss messages; usage is counted by the
client's trace sinks, `adf.llm.accounting`),
`SampleResult` for a single run, and `BackwardResult` (textual feedback per
trainable parameter). The CLI (`adfc run/eval/backward`) and the trainer use
exactly these functions.

Parameter values can be overridden per call (`params={"instruction": "..."}`)
without recompiling, which is how the trainer tries a proposal. Samples run
concurrently up to `concurrency`; results always come back in input order.
`structured` (default on) lets llm nodes with a typed output ask the
provider for a JSON schema of that type (see `adf.runtime.forward`); off,
every reply is free text read by the tolerant parser, which is how a
benchmark compares the two.
When the first `abort_after` samples all fail because the model cannot be
reached, `evaluate` stops and raises `ModelUnavailable` with the one-line
reason instead of failing every remaining sample the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from adf.llm.protocol import ModelClient
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Plan
from adf.runtime.backward import DEFAULT_THRESHOLD, BackwardResult, backward_batch
from adf.runtime.bindings import Bindings, bind
from adf.runtime.data import BadRow, DataError, Sample, sample_from_row
from adf.runtime.executor import EvalOptions
from adf.runtime.forward import run_sample
from adf.runtime.params import resolve_params
from adf.runtime.trace import SampleResult

if TYPE_CHECKING:
    from adf.runtime.executor import Executor

__all__ = [
    "DEFAULT_THRESHOLD",
    "BackwardResult",
    "EvalResult",
    "ModelUnavailable",
    "backward",
    "evaluate",
    "run_one",
]


class ModelUnavailable(Exception):
    """The model could not be reached for any of the first samples; `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class EvalResult:
    samples: tuple[SampleResult, ...]  # in input order
    params: tuple[tuple[str, ParamValue], ...]  # the values this evaluation used
    wall_s: float
    bad_rows: tuple[BadRow, ...] = ()

    @property
    def score(self) -> float | None:
        """Mean sample score over scored samples; None if none.

        A sample whose reply could not be read or whose function raised scores 0;
        one whose model call failed after its retries is left out (`call_failed`).
        """
        scores = [s.score for s in self.samples if s.score is not None]
        return sum(scores) / len(scores) if scores else None

    def loss_scores(self) -> dict[str, float]:
        totals: dict[str, list[float]] = {}
        for sample in self.samples:
            for loss in sample.losses:
                totals.setdefault(loss.name, []).append(loss.score)
        return {name: sum(v) / len(v) for name, v in totals.items()}

    def call_failed(self) -> tuple[SampleResult, ...]:
        """Samples left out of the score because a model call failed after its retries."""
        return tuple(s for s in self.samples if s.call_failed)

    def errors(self) -> tuple[SampleResult, ...]:
        """Samples with no prediction (a node failed), in input order."""
        return tuple(s for s in self.samples if s.error is not None)

    def below(self, threshold: float = 1.0) -> tuple[SampleResult, ...]:
        """Scored samples under `threshold`, in input order."""
        return tuple(s for s in self.samples if s.score is not None and s.score < threshold)

    def param_values(self) -> dict[str, ParamValue]:
        return dict(self.params)


async def evaluate(
    plan: Plan,
    samples: Sequence[Sample],
    client: ModelClient,
    *,
    params: Mapping[str, ParamValue] | None = None,
    bindings: Bindings | None = None,
    base_dir: str = ".",
    concurrency: int = 8,
    on_sample: Callable[[SampleResult], None] | None = None,
    abort_after: int | None = 8,
    structured: bool = True,
    executor: Executor | None = None,
) -> EvalResult:
    """Forward every sample and score it. `bindings` defaults to `bind(plan, base_dir)`.

    With an `executor` (see `adf.runtime.executor`) the batch runs there instead of here.
    """
    options = EvalOptions(params, bindings, base_dir, concurrency, on_sample, abort_after,
                          structured)
    if executor is not None:
        return await executor.evaluate(plan, samples, client, options)
    return await evaluate_here(plan, samples, client, options)


async def evaluate_here(
    plan: Plan, samples: Sequence[Sample], client: ModelClient, options: EvalOptions
) -> EvalResult:
    """`evaluate` in this process: every sample an asyncio task, at most `concurrency` at once."""
    values = resolve_params(plan, options.params)
    bound = options.bindings if options.bindings is not None else bind(plan, options.base_dir)
    gate = asyncio.Semaphore(max(1, options.concurrency))
    abort_after = options.abort_after
    breaker = _Breaker(min(abort_after, len(samples)) if abort_after else 0)
    started = time.perf_counter()

    async def one(sample: Sample) -> SampleResult:
        async with gate:
            breaker.check()
            result = await run_sample(plan, sample, client, values, bound,
                                      structured=options.structured)
        breaker.record(result)
        if options.on_sample is not None:
            options.on_sample(result)
        return result

    tasks = [asyncio.create_task(one(sample)) for sample in samples]
    try:
        results = tuple(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
    breaker.check()  # a small batch may finish before the breaker could trip
    return EvalResult(results, tuple(values.items()), time.perf_counter() - started)


async def run_one(
    plan: Plan,
    row: Mapping[str, Any],
    client: ModelClient,
    *,
    params: Mapping[str, ParamValue] | None = None,
    bindings: Bindings | None = None,
    base_dir: str = ".",
    sample_id: str = "input",
    structured: bool = True,
) -> SampleResult:
    """Run one sample given as a data row (targets optional: scored only when present).

    Raises `DataError` when the row lacks an input or has a value of the wrong type.
    """
    made = sample_from_row(plan, row, sample_id=sample_id, where="--input",
                           require_targets=False)
    if isinstance(made, BadRow):
        raise DataError(made.message)
    values = resolve_params(plan, params)
    bound = bindings if bindings is not None else bind(plan, base_dir)
    return await run_sample(plan, made, client, values, bound, structured=structured)


async def backward(
    plan: Plan,
    result: EvalResult,
    client: ModelClient,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    concurrency: int = 8,
    backward_model: str | None = None,
) -> BackwardResult:
    """Feedback for each trainable parameter from the samples scoring below `threshold`.

    The engine is `backward_model` (a declared model name), else the plan's
    `train { backward: ... }` model, else each llm node's own model.
    """
    name = backward_model or (plan.training.backward_model if plan.training else None)
    engine = plan.model(name) if name is not None else None
    return await backward_batch(plan, result.samples, client, result.param_values(),
                                threshold=threshold, engine=engine, concurrency=concurrency)


class _Breaker:
    """Stops an evaluation whose first samples all failed to reach the model."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0
        self.reason = ""
        self.healthy = limit <= 0

    def record(self, result: SampleResult) -> None:
        if self.healthy:
            return
        error = result.error
        if error is not None and error.kind == "model" and not result.calls():
            self.failures += 1
            self.reason = self.reason or error.message.removeprefix("model call failed: ")
        else:
            self.healthy = True

    def check(self) -> None:
        if not self.healthy and self.failures >= self.limit:
            raise ModelUnavailable(self.reason)

