"""The trainer's step as expected counts: how many gates, how far each gets.

Takes the run's settings and rates (how often samples fail, how often a
proposal passes the cheap checks); gives the shares the cost forecast
(`adf.analysis.cost`) multiplies by:

- `pass_minibatch`: the share of checked proposals that do not lose on the
  minibatch, and `val_share`: the share of the validation set a proposal
  that reached it is scored on before it wins or the gate stops early. Both
  follow from the gate's own rules (`adf.plan.gaterules`, the functions
  `adf.optim.gate` decides by) with a candidate that gets each sample right
  as often as the current values do (neither better nor worse: what a
  proposal does to a sample is not in the program). On a minibatch with no
  passing sample a candidate cannot lose; against a validation score of 0
  the gate never stops early; a run's history replaces both with what it
  measured.
- `val_wins`: the share of proposals scored on validation that win there,
  by the same rules and the same candidate.
- `prompt_flow`: a step's optimizer calls, gates and the chance it accepts
  a change: each prompt's attempts go on until one passes the cheap checks
  and wins its gate (or they run out), and under the `joint` and `pool`
  strategies the first usable proposals of two or more prompts are gated
  together first, an acceptance there ending the step's proposals
  (`adf.optim.prompt_step`); `gates_per_step` is its gates with nothing
  accepted.
- `settled_fail_rate`: the failure rate over the run's steps when an
  accepted change moves it (the rate after an acceptance, measured by
  earlier runs; the same rate when none did).
- `demo_fill`: the share of a run's demo sets full over its forward calls
  (a call with one of two sets full counts half): a demo-set proposal is a
  full set (`adf.optim.demos` draws `max_demos` candidates) and, once one
  is accepted, the later steps run with it; before that the sets are as
  they are now.

`Samples` holds a run's forward samples by phase, built once: the
forecast's phases and `demo_fill`'s `ForwardCalls` both read it.

`Gating` carries a step's gates and the validation samples each is scored
on: the forecast's point, and the ends of its range (no checked proposal
reaches validation; every proposal passes the cheap checks and is scored on
the whole validation set), the gate's outcome being what varies most from
run to run on the same settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from adf.plan.gaterules import best_possible, cannot_win, loses_minibatch, wins


def binomial(n: int, p: float) -> list[float]:
    """P(k of `n` samples right) for k = 0..n, each right with probability `p`."""
    p = min(max(p, 0.0), 1.0)
    return [math.comb(n, k) * p ** k * (1.0 - p) ** (n - k) for k in range(n + 1)]


def pass_minibatch(errors: int, passes: int, fail_rate: float, *, strict: bool) -> float:
    """Share of checked proposals that go on to validation (the minibatch does not stop them).

    The minibatch holds `errors` failing and `passes` passing samples under
    the current values (its mean is passes / size); the candidate gets each
    right with probability 1 - `fail_rate`. No minibatch: straight on.
    """
    size = errors + passes
    if size <= 0:
        return 1.0
    before = passes / size
    odds = binomial(size, 1.0 - fail_rate)
    return sum(p for k, p in enumerate(odds)
               if not loses_minibatch(before, k / size, strict=strict))


def val_share(val_size: int, chunk: int, fail_rate: float, *, ties: bool) -> float:
    """Expected share of the validation set a candidate is scored on (early stops counted).

    The current validation score is the share of samples the current values
    get right (1 - `fail_rate`, in whole samples); the candidate gets each
    right as often. Chunks of `chunk` samples are scored until the gate's
    rule says the rest cannot make it win.
    """
    if val_size <= 0:
        return 0.0
    right = 1.0 - min(max(fail_rate, 0.0), 1.0)
    current = round(right * val_size) / val_size
    step = max(1, chunk)
    going = {0: 1.0}  # samples right so far -> probability, over the runs not yet stopped
    done = 0
    spent = 0.0
    while done < val_size and going:
        size = min(step, val_size - done)
        spent += sum(going.values()) * size
        odds = binomial(size, right)
        nxt: dict[int, float] = {}
        for got, p in going.items():
            for k, q in enumerate(odds):
                nxt[got + k] = nxt.get(got + k, 0.0) + p * q
        done += size
        going = {got: p for got, p in nxt.items()
                 if done >= val_size or not cannot_win(
                     best_possible(got, done, done, val_size), current, ties=ties)}
    return spent / val_size


def val_wins(val_size: int, fail_rate: float, *, ties: bool) -> float:
    """Share of the proposals scored on validation that win there.

    The candidate gets each sample right as often as the current values
    (1 - `fail_rate`, the current score in whole samples); one that ends
    above the current score (or level with it, under `ties`) was never
    stopped early, so the share is the chance of such an end. No
    validation set: the gate accepts on the minibatch.
    """
    if val_size <= 0:
        return 1.0
    right = 1.0 - min(max(fail_rate, 0.0), 1.0)
    current = round(right * val_size) / val_size
    return sum(p for k, p in enumerate(binomial(val_size, right))
               if wins(k / val_size, current, ties=ties))


@attrs.frozen
class StepFlow:
    """A step's prompt proposals as expected counts."""

    calls: tuple[float, ...]  # per learning prompt: optimizer calls
    gates: float  # gates run for prompt proposals
    accepts: float  # the chance the step accepts a prompt change


def prompt_flow(asked: Sequence[float], proposals: int, screen: float, accept: float, *,
                joint: bool) -> StepFlow:
    """Optimizer calls, gates and acceptances of a step's prompt proposals.

    `asked`: per learning prompt, the share of steps its feedback asks for a
    change; such a prompt gets up to `proposals` optimizer calls, each that
    passes the cheap checks (`screen`) is gated, and a gated proposal is
    accepted with chance `accept`, which ends that prompt's attempts for
    the step (`adf.optim.prompt_step`). With `joint`, the step's first
    usable proposals are gated together first when there are two or more;
    when that is accepted, each prompt's calls end with its first usable
    proposal.
    """
    hit = screen * accept  # one attempt screened and accepted
    tries = sum((1.0 - hit) ** k for k in range(proposals))
    alone = [a * tries for a in asked]
    took = 1.0 - math.prod(1.0 - a * (1.0 - (1.0 - hit) ** proposals) for a in asked)
    gated = screen * sum(alone)
    if not joint or len(asked) < 2:
        return StepFlow(tuple(alone), gated, took)
    usable = [a * (1.0 - (1.0 - screen) ** proposals) for a in asked]
    none = math.prod(1.0 - u for u in usable)
    one = sum(u * math.prod(1.0 - v for j, v in enumerate(usable) if j != i)
              for i, u in enumerate(usable))
    together = max(0.0, 1.0 - none - one)  # a joint gate runs
    won = together * accept
    search = sum((1.0 - screen) ** k for k in range(proposals))  # calls to a usable proposal
    return StepFlow(tuple(won * a * search + (1.0 - won) * c for a, c in zip(asked, alone, strict=True)),
                    together + (1.0 - won) * gated, won + (1.0 - won) * took)


def gates_per_step(asked: Sequence[float], proposals: int, screen: float, *,
                   joint: bool) -> float:
    """Gates a step runs for prompt proposals when none is accepted (`prompt_flow`)."""
    return prompt_flow(asked, proposals, screen, 0.0, joint=joint).gates


def settled_fail_rate(before: float, after: float, accepts: float, steps: int) -> float:
    """The failure rate over `steps` steps: `before` until a step accepts a change (chance
    `accepts` each step), `after` from the next step on (the values changed)."""
    if steps <= 0:
        return before
    unchanged = sum((1.0 - accepts) ** t for t in range(steps)) / steps
    return before * unchanged + after * (1.0 - unchanged)


@attrs.frozen
class Gating:
    """Per step: the gates run, and the validation samples each is scored on (on average)."""

    gates: float
    validated: float


@attrs.frozen
class ForwardCalls:
    """A run's forward calls by when they run: scoring before training, each step's calls
    with the values as they are (minibatches, re-runs, prompt proposals' checks) and with a
    demo-set proposal in place, and scoring the test split after training."""

    before: float
    step: float
    demo: float
    after: float


def demo_fill(calls: ForwardCalls, *, steps: int, accept: float, proposals: int,
              params: int) -> float:
    """The share of the demo sets full over `calls` (each call counts the share of its sets
    that are full), from empty (as they are) to 1: what `adf.optim.observed` measures.

    Each of `params` demos parameters gets `proposals` demo-set proposals a step, each a full
    set accepted with chance `accept`; an accepted set stays for the steps after. A demo
    proposal's own checks run with its set full and the other parameters' as they are.
    """
    if params <= 0 or steps <= 0:
        return 0.0
    kept = [1.0 - (1.0 - accept) ** (proposals * k) for k in range(steps + 1)]
    full = calls.after * kept[steps] + sum(
        calls.step * kept[k] + calls.demo * (1.0 + (params - 1) * kept[k]) / params
        for k in range(steps))
    total = calls.before + calls.after + steps * (calls.step + calls.demo)
    return full / total if total > 0 else 0.0


@attrs.frozen
class Samples:
    """A run's forward samples, built once for the phases the forecast counts and the demo
    fill it sizes by: scoring before training and the test split after, and per step the
    minibatch, the extra batches while none failed, the drawn failures run again, and each
    gate's checks and validation (`gates`, of which `demo_gates` are demo-set proposals')."""

    before: float
    after: float
    batch: float
    extra: float
    reruns: float
    gates: float
    demo_gates: float
    checked: float
    validated: float

    def phases(self, steps: int) -> list[tuple[str, float]]:
        """The forward samples of `steps` steps and the scoring, by phase."""
        return [("forward, scoring validation and test", self.before + self.after),
                ("forward, training minibatches", steps * self.batch),
                ("forward, extra batches while none failed", steps * self.extra),
                ("forward, re-running drawn failures", steps * self.reruns),
                ("forward, checking proposals", steps * self.gates * self.checked),
                ("forward, validating proposals", steps * self.gates * self.validated)]

    def calls(self, *, scoring: bool = True) -> ForwardCalls:
        """The same samples by when they run (without `scoring`: the steps' only)."""
        gate = self.checked + self.validated
        return ForwardCalls(before=self.before if scoring else 0.0,
                            step=self.batch + self.extra + self.reruns
                            + (self.gates - self.demo_gates) * gate,
                            demo=self.demo_gates * gate, after=self.after if scoring else 0.0)
