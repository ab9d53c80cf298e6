"""What a call, an evaluation and a training run give back to Python.

`CallResult`: the outputs of one call by name (typed as declared: `int`,
`float`, `bool`, `str`, enum labels as `str`, lists, records as dicts), the
usage and cost of its model calls, its trace (every node's inputs, prompt,
reply and value), and `error` when it produced no outputs. `Evaluation`: the
runtime's `EvalResult` with the usage of the whole run. `Trained`: the
report of a training run and what it left next to the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from adf.api.errors import CallError
    from adf.llm.usage import Usage
    from adf.runtime.engine import EvalResult
    from adf.runtime.trace import NodeTrace, SampleResult


@attrs.frozen
class CallResult:
    outputs: Mapping[str, Any]
    usage: Usage
    sample: SampleResult  # the runtime's record: trace, losses, error
    error: CallError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def trace(self) -> tuple[NodeTrace, ...]:
        """One entry per node of the unrolled graph, in plan order."""
        return self.sample.nodes

    @property
    def cost_usd(self) -> float | None:
        """Dollars spent by this call's model calls; None when no price is known."""
        cost: float | None = self.usage.cost_usd
        return cost

    @property
    def output(self) -> Any:
        """The one output of a workflow that declares exactly one."""
        if len(self.outputs) != 1:
            raise ValueError(f"the workflow has {len(self.outputs)} outputs; "
                             f"index the result by name: {', '.join(self.outputs)}")
        return next(iter(self.outputs.values()))

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]

    def raise_for_error(self) -> CallResult:
        """`self`, or its `CallError` raised."""
        if self.error is not None:
            raise self.error
        return self

    def trace_json(self) -> list[dict[str, Any]]:
        """The trace as JSON-ready dicts (prompts, replies, values, calls)."""
        return [node.to_json() for node in self.sample.nodes]


@attrs.frozen
class Evaluation:
    result: EvalResult  # per-sample results, scores, failures
    usage: Usage  # every model call of the run, cache hits and failures included
    data: str  # the data file read

    @property
    def score(self) -> float | None:
        return self.result.score


@attrs.frozen
class Trained:
    report: Mapping[str, Any]  # the run's report.json, as written
    run_dir: str
    status: str  # the report's status: "completed", or why the run stopped
    lock_file: str | None  # written when a value changed
    changed: tuple[str, ...]  # the parameters whose value changed
    written: tuple[str, ...] = ()  # literals rewritten in the source (`write=True`)
    stopped_by: str | None = None  # the budget that stopped the run early

    @property
    def scores(self) -> Mapping[str, float | None]:
        scores: Mapping[str, float | None] = self.report["scores"]
        return scores
