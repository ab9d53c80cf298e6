"""The validation gate: does a candidate set of parameter values beat the current one?

Takes an evaluation function (samples, values -> per-sample scores), the
candidate values, the minibatch with the current values' scores on it, the
validation samples and the current validation score; gives a `GateResult`:
accepted or not, the scores seen and why. The minibatch is checked first
(cheap): a candidate that scores worse there is rejected; one that ties
earns a validation check too. On a minibatch of 2-4 samples a tie is the
common case (a change that fixes a validation pattern the drawn failures do
not show, a change that helps only together with another, any change once
the minibatch is all correct), and refusing ties would make such
rejections certain. Validation runs in fixed-size chunks, stopping as soon
as even a perfect score on the remaining samples could not win. With
`ties=True` a candidate that equals the current validation score is
accepted too, which keeps small validation sets from freezing training.
`minibatch_strict=True` restores the old rule (a strict minibatch gain
before any validation), for comparison. A scorer leaves out the samples whose
model call failed after its retries, so it may return fewer scores than
samples: every mean is over the scores it returned, and a candidate no
sample could score is rejected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs

from adf.plan.gaterules import best_possible, cannot_win, loses_minibatch, wins
from adf.plan.paramvalue import ParamValue
from adf.runtime.data import Sample

Scorer = Callable[[Sequence[Sample], Mapping[str, ParamValue]], Awaitable[list[float]]]


@attrs.frozen
class GateResult:
    accepted: bool
    reason: str
    minibatch_before: float | None
    minibatch_after: float | None
    val_after: float | None  # full score, or the bound reached when stopped early
    val_evaluated: int  # validation samples spent
    stopped_early: bool = False


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


async def gate(
    score: Scorer,
    candidate: Mapping[str, ParamValue],
    minibatch: Sequence[Sample],
    minibatch_scores: Sequence[float],
    val: Sequence[Sample],
    val_score: float,
    *,
    chunk: int = 8,
    ties: bool = False,
    minibatch_strict: bool = False,
) -> GateResult:
    before = mean(minibatch_scores)
    if minibatch:
        after_scores = await score(minibatch, candidate)
        after = mean(after_scores)
        if loses_minibatch(before, after, strict=minibatch_strict):
            return GateResult(False, f"no gain on the minibatch ({before:.2f} -> {after:.2f})",
                              before, after, None, 0)
    else:
        after = None
    if not val:
        return GateResult(True, "accepted on the minibatch (no validation split)",
                          before, after, None, 0)
    total = len(val)
    got = 0.0
    done = scored = 0
    for start in range(0, total, max(1, chunk)):
        part = val[start:start + max(1, chunk)]
        scores = await score(part, candidate)  # samples whose model call failed are left out
        got += sum(scores)
        done += len(part)
        scored += len(scores)
        best = best_possible(got, done, scored, total)
        if cannot_win(best, val_score, ties=ties) and done < total:
            return GateResult(
                False,
                f"cannot beat validation {val_score:.3f} (at most {best:.3f} after "
                f"{done} of {total} samples)",
                before, after, best, done, stopped_early=True,
            )
    if not scored:
        return GateResult(False, "no validation sample could be scored (model calls failed)",
                          before, after, None, done)
    final = got / scored
    if wins(final, val_score, ties=ties):
        return GateResult(True, f"validation {val_score:.3f} -> {final:.3f}",
                          before, after, final, done)
    return GateResult(False, f"no gain on validation ({val_score:.3f} -> {final:.3f})",
                      before, after, final, done)
