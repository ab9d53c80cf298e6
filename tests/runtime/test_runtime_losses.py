from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rt_helpers import client, responder
from rt_plans import INT, SPAN, data, fn, llm, loss, model, plan, prompt

from adf.plan.schema import Loss
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.runtime.scoring import score_loss
from adf.testing.fake_server import FakeServer


def make_loss(metric: str = "m") -> Loss:
    return Loss("acc", metric, "pred", "answer", (), SPAN)


def test_scores_out_of_range_and_bad_metrics_score_zero_with_a_reason() -> None:
    # a metric on another scale (0-100) must not read as "correct": it scores 0, with the reason
    for wrong in (1.5, 100, -0.5, float("inf"), float("nan"), True):
        result = score_loss(make_loss(), lambda p, t, wrong=wrong: wrong, 1, 1)
        assert result.score == 0.0 and "not a score in [0, 1]" in (result.error or ""), wrong
    assert score_loss(make_loss(), lambda p, t: 1 + 1e-12, 1, 1).score == 1.0  # rounding error
    assert score_loss(make_loss(), lambda p, t: 1.00000003, 1, 1).score == 1.0  # float32 rounding
    assert score_loss(make_loss(), lambda p, t: -3e-8, 1, 1).error is None
    assert score_loss(make_loss(), lambda p, t: 1.001, 1, 1).score == 0.0  # not rounding


def test_a_numpy_or_fraction_score_is_a_number() -> None:
    """Any real number is a score, read through `float()`: a numpy float32, a Fraction."""
    import fractions

    np = pytest.importorskip("numpy")  # installed with the project's extras (ray, llama.cpp)
    assert score_loss(make_loss(), lambda p, t: np.float32(0.7), 1, 1).score == float(np.float32(0.7))
    assert score_loss(make_loss(), lambda p, t: np.float32(1.0) + np.float32(3e-8), 1, 1).score == 1.0
    assert score_loss(make_loss(), lambda p, t: fractions.Fraction(1, 4), 1, 1).score == 0.25
    assert score_loss(make_loss(), lambda p, t: np.float64(2.0), 1, 1).score == 0.0
    assert score_loss(make_loss(), lambda p, t: (2.0, "big"), 1, 1).score == 0.0
    broken = score_loss(make_loss(), lambda p, t: 1 / 0, 1, 2)
    assert broken.score == 0.0 and "ZeroDivisionError" in (broken.error or "")
    assert "expected answer is 2" in broken.message
    weird = score_loss(make_loss(), lambda p, t: "high", 1, 2)
    assert weird.score == 0.0 and "not a score" in (weird.error or "")


def test_custom_metric_text_is_added_to_the_loss_message() -> None:
    result = score_loss(make_loss(), lambda p, t: (0.5, "half the items are right"), "a b", "a c")
    assert result.score == 0.5
    assert result.message == (
        "The prediction 'a b' is only partly right: the expected answer is 'a c' "
        "(m score 0.50). half the items are right"
    )


def test_py_metric_with_options_and_several_losses(tmp_path: Path) -> None:
    (tmp_path / "rt_metric_mod.py").write_text(
        "def within(pred, target, slack=0):\n"
        "    ok = abs(pred - target) <= slack\n"
        "    return (1.0 if ok else 0.0), f'off by {abs(pred - target)}'\n"
    )
    with FakeServer(responder(lambda r: "Answer: 9")) as server:
        workflow = plan(
            models=[model("m", server.base_url)], params=[prompt("p", "Count.")],
            inputs=[data("question")], targets=[data("answer", INT)],
            nodes=[llm("solve", {"q": "question"}, system=["$p"], user=["{q}"]),
                   fn("pred", "std.parse.last_int", {"text": "solve"}, out=INT)],
            losses=[loss("exact", "std.loss.exact_match", "pred", "answer"),
                    loss("near", "py:rt_metric_mod:within", "pred", "answer", slack=2)],
        )
        samples = [Sample("s", (("question", "q"),), (("answer", 10),))]
        result = asyncio.run(evaluate(workflow, samples, client(), base_dir=str(tmp_path)))
        grads = asyncio.run(backward(workflow, result, client()))
    sample = result.samples[0]
    assert [(x.name, x.score) for x in sample.losses] == [("exact", 0.0), ("near", 1.0)]
    assert sample.losses[1].message.endswith("off by 1")
    assert sample.score == 0.5 and result.loss_scores() == {"exact": 0.0, "near": 1.0}
    # only the failing loss seeds feedback
    assert [(f.param, f.loss) for f in grads.feedback] == [("p", "exact")]
