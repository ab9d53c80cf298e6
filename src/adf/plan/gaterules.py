"""The validation gate's rules: when a candidate loses, when validation can no longer win.

Takes scores (means of per-sample scores, counts of samples); gives the
gate's three decisions as pure functions: `loses_minibatch` (a candidate
that scores lower on the minibatch, or not higher under
`--minibatch-strict`, goes no further), `cannot_win` (validation stops
early once even a perfect score on the samples left could not win) and
`wins` (the final validation score beats, or with `accept_ties` equals, the
current one). The trainer's gate (`adf.optim.gate`) decides by them and the
cost forecast (`adf.analysis.costflow`) counts by them, so the two cannot
disagree on a rule. They sit beside the settings (`adf.plan.settings`) that
parameterize them, the layer both read.
"""

from __future__ import annotations


def loses_minibatch(before: float, after: float, *, strict: bool) -> bool:
    """Whether a candidate scoring `after` (mean) on the minibatch, against `before`, stops."""
    return after < before or (strict and after <= before)


def best_possible(got: float, done: int, scored: int, total: int) -> float:
    """The best validation mean still reachable: `got` over `scored` of `done`, the rest perfect."""
    return (got + (total - done)) / max(1, scored + total - done)


def cannot_win(best: float, val_score: float, *, ties: bool) -> bool:
    """Whether a validation mean of at most `best` can no longer win against `val_score`."""
    return best < val_score if ties else best <= val_score


def wins(final: float, val_score: float, *, ties: bool) -> bool:
    """Whether a final validation mean of `final` wins against `val_score`."""
    return final >= val_score if ties else final > val_score
