"""Where the forward passes over many samples run: the executor seam.

Takes nothing at import time; gives `Executor` (the protocol: evaluate a
batch of samples and give an `EvalResult` in input order), `LocalExecutor`
(the default: the in-process asyncio evaluation of `adf.runtime.engine`),
`ExecutorError` (the batch cannot run there: one line for the user) and
`ExecutorSpec` (what `--executor local|ray[=ADDRESS]` asked for) and
`EvalOptions` (the one record of how a batch is evaluated, which every
executor takes).

An executor changes *where* samples are forwarded, never *what* a sample
gives: every executor returns the same `EvalResult` (samples in input order)
for the same plan, samples and model replies, so reports do not depend on
which one ran. Other executors live outside the runtime (the Ray one in
`adf.scale`) and are imported only when asked for; `evaluate(...,
executor=...)` hands the whole batch to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:  # kept light: the CLI imports this module to parse --executor
    from adf.llm.protocol import ModelClient
    from adf.plan.paramvalue import ParamValue
    from adf.plan.schema import Plan
    from adf.runtime.bindings import Bindings
    from adf.runtime.data import Sample
    from adf.runtime.engine import EvalResult
    from adf.runtime.trace import SampleResult

__all__ = ["EvalOptions", "Executor", "ExecutorError", "ExecutorMissing", "ExecutorSpec", "LocalExecutor", "SpecError"]


class ExecutorError(Exception):
    """The executor cannot run the batch (cannot start, cannot ship the code, workers lost)."""


class ExecutorMissing(ExecutorError):
    """The executor asked for is not installed (e.g. Ray without the `adf[ray]` extra)."""


@attrs.frozen
class EvalOptions:
    """How a batch is evaluated, whichever executor runs it (`adf.runtime.engine.evaluate`)."""

    params: Mapping[str, ParamValue] | None = None  # None: the plan's own values
    bindings: Bindings | None = None  # None: `bind(plan, base_dir)`
    base_dir: str = "."
    concurrency: int = 8
    on_sample: Callable[[SampleResult], None] | None = None
    abort_after: int | None = 8  # stop after this many consecutive failed model calls
    structured: bool = True


class Executor(Protocol):
    """Forwards and scores samples; results come back in input order."""

    async def evaluate(
        self, plan: Plan, samples: Sequence[Sample], client: ModelClient, options: EvalOptions
    ) -> EvalResult: ...


class LocalExecutor:
    """The default: samples run as asyncio tasks in this process."""

    async def evaluate(
        self, plan: Plan, samples: Sequence[Sample], client: ModelClient, options: EvalOptions
    ) -> EvalResult:
        from adf.runtime.engine import evaluate_here

        return await evaluate_here(plan, samples, client, options)


class SpecError(ValueError):
    """An `--executor` value that names no executor; the message is one line."""


@attrs.frozen
class ExecutorSpec:
    """`local`, `ray` (start a local Ray instance) or `ray=ADDRESS` (join a cluster)."""

    kind: str = "local"
    address: str | None = None

    @staticmethod
    def parse(text: str) -> ExecutorSpec:
        name, sep, address = text.strip().partition("=")
        if name == "local" and not sep:
            return ExecutorSpec()
        if name == "ray":
            if sep and not address.strip():
                raise SpecError("--executor ray=ADDRESS needs an address (e.g. ray=auto)")
            return ExecutorSpec("ray", address.strip() or None)
        raise SpecError(f"unknown executor {text!r}: expected local, ray or ray=ADDRESS")

    @property
    def is_local(self) -> bool:
        return self.kind == "local"
