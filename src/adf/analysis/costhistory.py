"""What the forecast knows of earlier runs: token history, measured rates, their records.

Takes what the reply cache keeps per model (`adf.llm.cache.ReplyCache.history`:
mean tokens and calls per model, node and purpose; `rates`: the training
rates finished runs measured) or what a resumed run's own steps measured
(`adf.optim.observed`, through `adf.workflow`); gives `History`, which sizes
a call seen before, calibrates the `Rates` and says how often each branch
ran and each prompt was optimized, and `forecast`/`times`, the forecast's
`Usage` of a number of calls, and `Spent`, what a resumed run's counters
say it did before. `adf.analysis.cost` forecasts with them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from adf.llm.cache import HistoryKey, TokenMeans
from adf.llm.usage import Usage
from adf.plan.schema import Plan


@attrs.frozen
class Spent:
    """What a resumed run did before: its finished steps, whether it scored the validation
    and test splits at the start, whether it had finished (scored the test split after
    training), and the usage by purpose its counters hold."""

    steps: int = 0
    scored: bool = False
    finished: bool = False
    usage: tuple[tuple[str, Usage], ...] = ()  # (purpose, usage so far)


@attrs.frozen
class Rates:
    """How a run's samples and proposals fare: what runs measured, None where none did.

    A gate rate left None is the prior: `SCREEN_PASS` for the cheap checks,
    the gate's rules for the minibatch, validation and how often a validated
    proposal wins (`costflow`); `fail_rate` is the rate before any change is
    accepted, and `fail_after`, left None, the same rate after one (what a
    change does to a sample is not in the program).
    """

    fail_rate: float = 0.5  # share of samples that fail and get a backward pass
    screen_pass: float | None = None  # prompt proposals that pass the cheap checks
    pass_minibatch: float | None = None  # checked proposals that go on to validation
    val_share: float | None = None  # share of the validation set such a proposal is scored on
    win_share: float | None = None  # proposals scored on validation that win there
    fail_after: float | None = None  # share of samples that fail once a change was accepted

    @property
    def calibrated(self) -> bool:
        """Whether runs measured any of the gate's rates."""
        return any(r is not None for r in (self.screen_pass, self.pass_minibatch, self.val_share,
                                           self.win_share))


@attrs.frozen
class History:
    """What earlier runs measured: mean tokens per (model, node, purpose).

    `models` maps each declared model name to the model string its calls
    are recorded under (`ResolvedModel.model`).
    """

    tokens: Mapping[HistoryKey, TokenMeans] = attrs.field(factory=dict)
    models: Mapping[str, str] = attrs.field(factory=dict)
    rates: Mapping[str, tuple[int, int]] = attrs.field(factory=dict)  # name -> (part, whole)
    # size a call seen before at the larger of its mean prompt there and the program's
    # (demo sets at capacity): training may grow a prompt past what earlier runs saw
    ceiling: bool = False

    def calibrate(self, rates: Rates) -> Rates:
        """`rates` with those earlier runs measured, unless this run measured its own."""
        if rates.calibrated or not self.rates:
            return rates

        def rate(name: str, prior: float | None) -> float | None:
            part, whole = self.rates.get(name, (0, 0))
            return part / whole if whole else prior

        # `fail_rate` counts every step; the steps after an acceptance are also in `fail_after`
        every, after = self.rates.get("fail_rate", (0, 0)), self.rates.get("fail_after", (0, 0))
        before = (every[0] - after[0], every[1] - after[1])
        failed = before[0] / before[1] if before[1] > 0 else rate("fail_rate", rates.fail_rate)
        return Rates(fail_rate=failed or 0.0,
                     screen_pass=rate("screen_pass", rates.screen_pass),
                     pass_minibatch=rate("pass_minibatch", rates.pass_minibatch),
                     val_share=rate("val_share", rates.val_share),
                     win_share=rate("win_share", rates.win_share),
                     fail_after=rate("fail_after", rates.fail_after))

    def sized(self, model: str | None, node: str, purpose: str, usage: Usage,
              grow: int = 0) -> Usage:
        """`usage` (one call) with the tokens seen before for this call, when any were; its
        prompt `grow` tokens longer than their mean (a demo set fuller than it was then)."""
        if model is None:
            return usage
        seen = self.tokens.get((self.models.get(model, model), node, purpose))
        if seen is None:
            return usage
        prompt = max(round(seen.prompt) + grow, 0)
        if self.ceiling:
            prompt = max(prompt, usage.prompt_tokens // max(usage.calls, 1))
        return forecast(usage.calls, prompt, round(seen.completion))

    def shares(self, plan: Plan) -> dict[str, float]:
        """Per guarded llm node (in a branch, a later `until` step), the share of samples it ran on.

        Measured against the first unguarded llm node; a node the history has
        not seen keeps the upper bound (every sample).
        """
        ref = next((n for n in plan.nodes if n.llm is not None and not n.when), None)
        if ref is None or ref.llm is None:
            return {}
        base = self.tokens.get((self.models.get(ref.llm.model, ref.llm.model), ref.id, "forward"))
        if base is None:
            return {}
        out: dict[str, float] = {}
        for node in plan.nodes:
            if node.llm is not None and node.when:
                key = (self.models.get(node.llm.model, node.llm.model), node.id, "forward")
                seen = self.tokens.get(key)
                if seen is not None:
                    out[node.id] = min(1.0, seen.calls / base.calls)
        return out

    def optimized(self, model: str | None, params: Sequence[str]) -> dict[str, float]:
        """Per prompt parameter, how often the optimizer was asked for it, against the most asked.

        A parameter whose feedback only clears it gets no optimizer call, so
        one behind a rarely taken branch is optimized less often. A parameter
        the history has not seen keeps the upper bound (every step).
        """
        if model is None:
            return {}
        name = self.models.get(model, model)
        calls = {p: seen.calls for p in params
                 if (seen := self.tokens.get((name, f"optimizer:{p}", "optimizer"))) is not None}
        most = max(calls.values(), default=0)
        return {p: n / most for p, n in calls.items()} if most else {}

    @property
    def demo_fill(self) -> float | None:
        """The share of the training steps' forward samples that earlier runs ran with a demo
        set full (`adf.optim.observed`), None where none measured it."""
        part, whole = self.rates.get("demo_fill", (0, 0))
        return part / whole if whole else None

    @property
    def used(self) -> int:
        """Kinds of call the history could size."""
        return len(self.tokens)


def forecast(calls: int, prompt_tokens: int, completion_tokens: int) -> Usage:
    """Forecast usage: every call is one provider request (no cache, no retries)."""
    return Usage(calls=calls, requests=calls, prompt_tokens=prompt_tokens,
                 completion_tokens=completion_tokens)


def times(usage: Usage, factor: float) -> Usage:
    """`usage` repeated `factor` times, rounded up."""
    return forecast(math.ceil(usage.calls * factor), math.ceil(usage.prompt_tokens * factor),
                    math.ceil(usage.completion_tokens * factor))
