"""Score one sample's prediction: a number in [0, 1] and a textual loss.

Takes a plan `Loss`, the metric callable, the predicted and expected values
(or the error that prevented a prediction); gives a `LossResult`. The message
always states the prediction and the expected answer, so the backward engine
starts from a concrete comparison; a metric may add its own explanation by
returning `(score, text)`. A metric that raises or returns something other
than a number in [0, 1] (a bool, NaN, a score on another scale such as 0-100)
gives score 0 and a message saying so, never a crash and never a clamped
score.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import attrs

from adf.plan.schema import EnvRef, Loss, Objective
from adf.runtime.trace import LossResult, SampleError
from adf.runtime.values import describe

# a score this far outside [0, 1] is rounding error (a sum of weighted parts, a float32
# score such as 1.00000003), not a wrong scale
_SLACK = 1e-6


def score_loss(loss: Loss, metric: Callable[..., Any], pred: Any, target: Any) -> LossResult:
    options = {name: value for name, value in loss.options if not isinstance(value, EnvRef)}
    try:
        result = metric(pred, target, **options)
    except Exception as exc:
        reason = f"metric {loss.metric} failed: {type(exc).__name__}: {exc}"
        return LossResult(loss.name, loss.metric, 0.0, _message(pred, target, 0.0, loss, reason),
                          pred, target, reason)
    explanation = ""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        result, explanation = result
    if (isinstance(result, bool) or not isinstance(result, numbers.Real)
            or not -_SLACK <= float(result) <= 1 + _SLACK):  # NaN fails the comparison too
        reason = f"metric {loss.metric} returned {describe(result)}, not a score in [0, 1]"
        return LossResult(loss.name, loss.metric, 0.0, _message(pred, target, 0.0, loss, reason),
                          pred, target, reason)
    score = min(1.0, max(0.0, float(result)))  # only rounding error is clamped
    return LossResult(loss.name, loss.metric, score,
                      _message(pred, target, score, loss, explanation), pred, target)


def failed_loss(loss: Loss, target: Any, error: SampleError) -> LossResult:
    where = f" at node {error.node}" if error.node else ""
    message = (
        f"The workflow failed{where} before producing a prediction: {error.message}. "
        f"The expected answer is {describe(target)}."
    )
    return LossResult(loss.name, loss.metric, 0.0, message, None, target, error.message)


def score_objectives(
    objectives: tuple[Objective, ...], losses: list[LossResult]
) -> list[LossResult]:
    """`losses` with each combined loss marked `part_of` its objectives, then one
    result per objective whose losses were all scored: the weighted sum of their
    scores, with the messages of the losses it lost points on."""
    if not objectives:
        return losses
    scored = {loss.name: loss for loss in losses}
    owners: dict[str, list[str]] = {}
    combined: list[LossResult] = []
    for objective in objectives:
        parts = [(scored.get(t.loss), t.weight) for t in objective.terms]
        for term in objective.terms:
            owners.setdefault(term.loss, []).append(objective.name)
        if any(part is None for part, _ in parts):
            continue  # a loss had no target in this sample: the objective is not scored
        score = min(1.0, max(0.0, sum(p.score * w for p, w in parts if p is not None)))
        lost = [f"{p.name} (weight {w:g}): {p.message}" for p, w in parts if p is not None and p.score < 1.0]
        message = " ".join(lost) if lost else "Every loss of this objective is met."
        combined.append(LossResult(objective.name, "objective", score, message))
    marked = [attrs.evolve(loss, part_of=tuple(owners[loss.name])) if loss.name in owners else loss
              for loss in losses]
    return marked + combined


def _message(pred: Any, target: Any, score: float, loss: Loss, explanation: str) -> str:
    metric = loss.metric.removeprefix("std.loss.")
    if score >= 1.0:
        text = f"The prediction {describe(pred)} is correct (expected {describe(target)})."
    else:
        verdict = "wrong" if score <= 0.0 else "only partly right"
        text = (
            f"The prediction {describe(pred)} is {verdict}: the expected answer is "
            f"{describe(target)} ({metric} score {score:.2f})."
        )
    return f"{text} {explanation}".strip() if explanation else text
