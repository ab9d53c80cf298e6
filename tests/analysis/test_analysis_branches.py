"""Analyses over branches: cost as an interval, dead branches (W0530), drawing."""

from __future__ import annotations

import math

from adf.analysis.branchcost import branch_range
from adf.analysis.config import LintConfig
from adf.analysis.cost import estimate_cost
from adf.analysis.costreport import render_cost
from adf.analysis.drawing import build_drawing
from adf.analysis.lint import lint_plan
from adf.compiler.pipeline import compile_source
from adf.plan.schema import Plan

SOURCE = """model m = "local"
param route: prompt = "Route."
input q: str
target a: str
llm kind(q: str) -> enum{x, y, z} using m { system: [route] user: "{q}" }
llm check(q: str) -> bool using m { user: "{q}" }
llm f(q: str) -> str using m { system: [route] user: "{q}" }
node pred = match kind(q) { x => f(f(q)), y => (if check(q) then f(q) else q), _ => q }
loss acc = std.loss.exact_match(pred, a)
output pred
"""


def plan_of(text: str) -> Plan:
    result = compile_source(text, "b.adf")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


def test_calls_per_sample_are_an_interval() -> None:
    plan = plan_of(SOURCE)
    llm = {n.id: 1.0 for n in plan.nodes if n.kind == "llm"}
    calls = branch_range(plan, llm)
    # kind always; x: two calls; y: check, then one more or none; z: none
    assert (calls.low, calls.high) == (1, 3)
    assert calls.expected == 1 + (2 + (1 + 0.5) + 0) / 3


def test_cost_report_shows_the_range() -> None:
    estimate = estimate_cost(plan_of(SOURCE))
    assert estimate.forward.calls == 5  # the upper bound counts every branch
    text = render_cost(estimate, "b.adf")
    assert "branches and early exits: a sample makes 1 to 3 calls (expected 2.2)" in text


def test_programs_without_branches_have_no_range() -> None:
    plain = SOURCE.replace("node pred = match kind(q) { x => f(f(q)), y => (if check(q) then f(q) else q), _ => q }",
                           "node pred = f(q)")
    assert estimate_cost(plan_of(plain)).branches is None


def test_constant_condition_makes_dead_branches() -> None:
    text = SOURCE.replace("(if check(q) then f(q) else q)", "(if false then f(q) else q)")
    plan = plan_of(text)
    found = lint_plan(plan, "b.adf", text, LintConfig())
    dead = [d for d in found if d.code == "W0530"]
    assert [d.message for d in dead] == ["the branch `true` can never run: the condition is always `false`"]
    assert not [d for d in lint_plan(plan_of(SOURCE), "b.adf", SOURCE, LintConfig()) if d.code == "W0530"]


def test_drawing_shows_select_and_guards() -> None:
    drawing = build_drawing(plan_of(SOURCE))
    kinds = {v.id: (v.kind, v.detail) for v in drawing.vertices}
    assert kinds["pred"][0] == "select" and "select on pred.0" in kinds["pred"][1]
    assert "when pred.0 in {x}" in kinds["pred.1"][1]


def test_history_says_how_often_a_branch_ran() -> None:
    from adf.analysis.cost import Scenario
    from adf.analysis.costhistory import History
    from adf.llm.cache import TokenMeans
    from adf.plan.settings import TrainSettings

    plan = plan_of(SOURCE)
    guarded = [n.id for n in plan.nodes if n.kind == "llm" and n.when]
    first = next(n.id for n in plan.nodes if n.kind == "llm" and not n.when)
    seen = {("local", first, "forward"): TokenMeans(30, 10.0, 2.0)}
    seen |= {("local", node, "forward"): TokenMeans(3, 10.0, 2.0) for node in guarded}
    history = History(seen, {"m": "local"})
    assert history.shares(plan) == {node: 0.1 for node in guarded}
    settings = Scenario(TrainSettings(steps=1), val_size=10)
    prior = estimate_cost(plan, settings=settings)
    measured = estimate_cost(plan, settings=settings, history=history)
    scoring = "forward, scoring validation and test"
    calls = {e: next(p.usage.calls for p in e.run if p.phase == scoring)
             for e in (prior, measured)}
    # no history: every label equally likely, the expectation of the range line
    expected = branch_range(plan, {n.id: 1.0 for n in plan.nodes if n.kind == "llm"}).expected
    assert calls[prior] == math.ceil(10 * expected) < 10 * (1 + len(guarded))
    assert calls[measured] == 10 * 1 + round(10 * 0.1 * len(guarded))


def test_expected_shares_split_each_branch_evenly() -> None:
    from adf.analysis.branchcost import expected_shares

    plan = plan_of(SOURCE)
    llm = {n.id for n in plan.nodes if n.kind == "llm"}
    shares = {node: share for node, share in expected_shares(plan).items() if node in llm}
    # x: f(f(q)) a third of the time; y: check a third, its `then` half of that
    assert shares == {"pred.1.0": 1 / 3, "pred.1": 1 / 3, "pred.2.0": 1 / 3, "pred.2.1": 1 / 6}
