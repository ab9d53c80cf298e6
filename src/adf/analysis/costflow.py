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
- `gates_per_step`: the gates a step runs for its prompt proposals: one per
  proposal that passes the cheap checks, and under the `joint` and `pool`
  strategies one more when at least two prompts have a usable first
  proposal (gated together, then each alone when that fails:
  `adf.optim.prompt_step`).

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

from adf.plan.gaterules import best_possible, cannot_win, loses_minibatch


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


def gates_per_step(asked: Sequence[float], proposals: int, screen: float, *,
                   joint: bool) -> float:
    """Gates a step runs for prompt proposals.

    `asked`: per learning prompt, the share of steps its feedback asks for a
    change; each such prompt gets `proposals` optimizer calls, and each that
    passes the cheap checks (`screen`) is gated. With `joint`, the step's
    first usable proposals are gated together once more when there are two
    or more.
    """
    single = sum(asked) * proposals * screen
    if not joint or len(asked) < 2:
        return single
    usable = [a * (1.0 - (1.0 - screen) ** proposals) for a in asked]
    none = math.prod(1.0 - u for u in usable)
    one = sum(u * math.prod(1.0 - v for j, v in enumerate(usable) if j != i)
              for i, u in enumerate(usable))
    return single + max(0.0, 1.0 - none - one)


@attrs.frozen
class Gating:
    """Per step: the gates run, and the validation samples each is scored on (on average)."""

    gates: float
    validated: float
