"""What the analyses read and compute: declarations of their records.

Takes nothing; gives `LoopLimits` and `LintConfig` (the lint settings,
`adf.analysis.config`), `GraphView` (the plan's graph indexed for the lints,
`adf.analysis.graphview`), `Reachability` (`adf.analysis.reachability`),
`Sizes` (`adf.analysis.sizes`), `LoopCount` (`adf.analysis.loopsize`) and
`Suppression` (`adf.analysis.suppress`). Each of those modules imports its
own from here under the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from adf.diagnostics import Span
from adf.plan.schema import Loss, Node, Output, ParamDecl, Plan

DEFAULT_OFF: frozenset[str] = frozenset()  # lints that only run when enabled


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in patterns)


@attrs.frozen
class LoopLimits:
    """The size limits of `adf.analysis.loopsize` (W0511, W0512), set under `[tool.adf.lint]`."""

    max_unrolled_nodes: int = 5000
    max_calls_per_sample: int = 100
    max_tokens_per_sample: int | None = None


@attrs.frozen
class LintConfig:
    disable: frozenset[str] = frozenset()
    enable: frozenset[str] = frozenset()
    error: frozenset[str] = frozenset()
    limits: LoopLimits = attrs.field(factory=LoopLimits)
    path: str | None = None

    def is_enabled(self, code: str) -> bool:
        if _matches(code, self.disable):
            return False
        return code not in DEFAULT_OFF or _matches(code, self.enable)

    def is_promoted(self, code: str) -> bool:
        return _matches(code, self.error)


@attrs.frozen(eq=False)
class GraphView:
    plan: Plan
    nodes: Mapping[str, Node]
    node_sources: Mapping[str, tuple[str, ...]]
    node_readers: Mapping[str, tuple[str, ...]]
    loss_readers: Mapping[str, tuple[Loss, ...]]
    output_readers: Mapping[str, tuple[Output, ...]]
    node_params: Mapping[str, tuple[str, ...]]
    param_users: Mapping[str, tuple[str, ...]]
    callers: Mapping[str, tuple[str, ...]]
    params: Mapping[str, ParamDecl]

    def readers(self, value: str) -> tuple[str, ...]:
        """The nodes that read `value`, in plan order (empty for an unknown id)."""
        return self.node_readers.get(value, ())

    def is_trainable(self, param: str) -> bool:
        decl = self.params.get(param)
        return decl is not None and not decl.frozen

    def trainable_params(self, node_id: str) -> tuple[str, ...]:
        return tuple(p for p in self.node_params.get(node_id, ()) if self.is_trainable(p))

    def sources(self, node_id: str) -> tuple[str, ...]:
        """The distinct value ids a node reads, in binding order."""
        return self.node_sources[node_id]


@attrs.frozen
class Reachability:
    """`feeds_loss`: values whose value flows into some loss's prediction.
    `trained`: values computed (directly or not) from a trainable parameter.
    `learning`: trainable parameters used by a node in `feeds_loss`.
    `target_only`: values flowing into loss targets but into no prediction.
    `gradient_nodes`: nodes on a path from a trainable parameter to a loss."""

    feeds_loss: frozenset[str]
    trained: frozenset[str]
    learning: frozenset[str]
    target_only: frozenset[str]
    gradient_nodes: frozenset[str]
    reached_losses: frozenset[str]


@attrs.frozen
class Sizes:
    """`values`: tokens per value id. `prompts`/`replies`: tokens per llm node id.
    `measured`: the inputs and targets whose size came from data rows."""

    values: Mapping[str, int]
    prompts: Mapping[str, int]
    replies: Mapping[str, int]
    measured: frozenset[str]


@attrs.frozen
class LoopCount:
    nodes: int = 0
    calls: int = 0
    tokens: int = 0


@attrs.frozen
class Suppression:
    codes: tuple[str, ...]
    lines: frozenset[int]  # the source lines it covers; empty for a whole-file one
    whole_file: bool
    span: Span  # the comment itself

    def covers(self, code: str, line: int) -> bool:
        if not (self.whole_file or line in self.lines):
            return False
        return any(code.startswith(c) for c in self.codes)
