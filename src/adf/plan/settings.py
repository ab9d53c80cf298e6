"""A training run's settings: the one record every layer reads them from.

Takes nothing; gives `TrainSettings` (steps, batch size, proposals, the gate,
the strategy, concurrency), `Limits` (the budgets: steps, provider requests,
tokens, dollars), `DataSettings` (which data folder and splits, how many rows
of each), `Strategy` and `STRATEGIES`, and `problem`, the one check that every
value is in range, worded by the `adfc train` flag that sets it.

`adfc train`, `adfc cost` and `adf.Workflow.train` build these records (the
CLI in `adf.cli._options`, the API from keywords named like the fields); the
trainer (`adf.optim.trainer`) runs by them and the cost estimator
(`adf.analysis.cost`) forecasts from them, so a forecast and the run it
describes cannot disagree on a setting.
"""

from __future__ import annotations

from typing import Literal

import attrs

Strategy = Literal["joint", "sequential", "pool"]
STRATEGIES: tuple[Strategy, ...] = ("joint", "sequential", "pool")  # default first


@attrs.frozen
class Limits:
    """Budgets; None is no limit."""

    max_steps: int | None = None
    max_calls: int | None = None  # provider requests, retries included
    max_tokens: int | None = None
    max_usd: float | None = None


@attrs.frozen
class TrainSettings:
    steps: int = 4
    batch_size: int = 4
    proposals: int = 3
    demo_proposals: int = 1
    seed: int = 0
    threshold: float = 0.9  # a sample scoring below this gets feedback; at or above, it passes
    partial_credit: float = 0.5  # from this up to `threshold`: drawn after the failures
    max_errors: int = 2  # failing samples drawn per step for the backward pass
    max_passed: int = 2  # passing samples drawn with them for the minibatch check
    pool_cap: int = 20
    history: int = 3
    concurrency: int = 8
    val_chunk: int = 8
    accept_ties: bool = False
    strategy: Strategy = "joint"  # how proposals for several prompts are gated (prompt_step.py)
    candidates: int = 4  # `pool`: validated candidates kept across steps (candidates.py)
    patience: int = 2  # `pool`: steps without a gain before the path goes back to another
    fill_batches: int = 1  # extra batches a step draws while its pool holds no failure
    minibatch_strict: bool = False  # only a minibatch gain (not a tie) earns validation
    backward_all: bool = False  # naive baseline: backward on every batch sample, passing or not
    limits: Limits = attrs.field(factory=Limits)

    @property
    def run_steps(self) -> int:
        """The steps the run takes: `steps`, or fewer under `--max-steps`."""
        cap = self.limits.max_steps
        return self.steps if cap is None else min(self.steps, cap)

    @property
    def joint_gate(self) -> bool:
        """Whether several prompts' proposals are also gated together once a step."""
        return self.strategy != "sequential"


@attrs.frozen
class DataSettings:
    """Which data a run reads: the folder, the split names, and rows kept of each."""

    folder: str | None = None  # None: data/ next to the source
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    train_limit: int | None = None
    val_limit: int | None = None
    test_limit: int | None = None  # 0 skips the test split
    strict_data: bool = False  # stop at the first bad row instead of skipping it


# a count past this is a typo, and the forecast walks steps and proposals one by one
MAX_COUNT = 1_000_000
_AT_LEAST_ONE = ("steps", "batch_size", "concurrency", "candidates")
_WHOLE = ("proposals", "demo_proposals", "fill_batches")  # proposals 0: only demo sets train
_SHARES = ("threshold", "partial_credit")
_LIMITS = ("max_steps", "max_calls", "max_tokens", "max_usd")
_ROWS = ("train_limit", "val_limit", "test_limit")


def problem(settings: TrainSettings, data: DataSettings | None = None) -> str | None:
    """The first value out of range, as a message naming its flag; None if all fit."""
    if settings.strategy not in STRATEGIES:
        return f"--strategy must be one of {', '.join(STRATEGIES)}, not {settings.strategy!r}"
    values: dict[str, float | None] = {
        **{name: getattr(settings, name) for name in (*_AT_LEAST_ONE, *_WHOLE, *_SHARES)},
        **{name: getattr(settings.limits, name) for name in _LIMITS},
        **{name: getattr(data, name) for name in _ROWS if data is not None},
    }
    for name, value in values.items():
        if value is None:
            continue
        if name in _AT_LEAST_ONE and value < 1:
            return f"{flag(name)} must be at least 1"
        if name in (*_AT_LEAST_ONE, *_WHOLE) and value > MAX_COUNT:
            return f"{flag(name)} must be at most {MAX_COUNT:,}"
        if name in _SHARES and not 0.0 <= value <= 1.0:
            return f"{flag(name)} must be between 0 and 1"
        if value < 0:
            return f"{flag(name)} must not be negative"
    return None


def flag(field: str) -> str:
    """The `adfc train` flag that sets a field."""
    return "--" + field.replace("_", "-")
