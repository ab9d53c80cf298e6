"""Score one sample's prediction: a number in [0, 1] and a textual loss.

Takes a plan `Loss`, the metric callable, the predicted and expected values
(or the error that prevented a prediction); gives a `LossResult`. The message
always states the prediction and the expected answer, so the backward engine
starts from a concrete comparison; a metric may add its own explanation by
returning `(score, text)`. A metric that raises or returns something other
than a number gives score 0 and a message saying so, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from adf.plan.schema import EnvRef, Loss
from adf.runtime.trace import LossResult, SampleError
from adf.runtime.values import describe


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
    if isinstance(result, bool) or not isinstance(result, int | float) or math.isnan(result):
        reason = f"metric {loss.metric} returned {describe(result)}, not a score in [0, 1]"
        return LossResult(loss.name, loss.metric, 0.0, _message(pred, target, 0.0, loss, reason),
                          pred, target, reason)
    score = min(1.0, max(0.0, float(result)))
    return LossResult(loss.name, loss.metric, score,
                      _message(pred, target, score, loss, explanation), pred, target)


def failed_loss(loss: Loss, target: Any, error: SampleError) -> LossResult:
    where = f" at node {error.node}" if error.node else ""
    message = (
        f"The workflow failed{where} before producing a prediction: {error.message}. "
        f"The expected answer is {describe(target)}."
    )
    return LossResult(loss.name, loss.metric, 0.0, message, None, target, error.message)


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
