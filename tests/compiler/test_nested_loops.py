"""Nested loops: names, visibility, order, limits and unrolling to `name@i.j`."""

from __future__ import annotations

from adf.diagnostics import Diagnostic
from adf.plan import decode_plan, encode_plan
from adf.plan.schema import Guard
from adf.syntax.fmt import format_source

from .conftest import codes, compile_text, plan_of

BASE = """model m = "local"
param ask: prompt = "Ask."
input question: str
target answer: str
llm step(a: str, b: str) -> str using m { system: [ask] user: "{a} {b}" }
llm counted(a: str, i: int, j: int) -> str using m { system: [ask] user: "{a} {i} {j}" }
llm ok(a: str) -> bool using m { system: [ask] user: "{a}" }
state notes: str = ""
state plan: str = ""
"""
NESTED = BASE + """loop round in 0..2 {
  node q = step(question, plan)
  loop attempt in 0..3 until done {
    node draft = counted(q, round, attempt)
    notes = notes + draft
    node done = ok(notes)
  }
  node summary = step(draft, notes)
  plan = plan + summary
}
node pred = step(summary, notes)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""


def test_inner_copies_are_named_by_both_steps_and_guarded_by_the_inner_exit() -> None:
    plan = plan_of(NESTED)
    ids = [n.id for n in plan.nodes]
    assert ids.index("q@0") < ids.index("draft@0.0") < ids.index("draft@0.2") < ids.index(
        "summary@0") < ids.index("q@1") < ids.index("draft@1.0")
    draft = plan.node("draft@1.2")
    assert (draft.name, draft.step, draft.loop, draft.time) == ("draft", 2, "attempt", (1, 2))
    assert draft.when == (Guard("done@1.1", ("false",)),)
    assert plan.node("draft@1.0").when == ()  # each outer step starts the inner loop afresh
    # the loop variables: the outer one read inside the inner loop is its outer step
    inputs = dict((b.name, b.source) for b in draft.inputs)
    assert (inputs["i"], inputs["j"]) == ("round@1", "attempt@1.2")
    assert plan.node("round@1").value_json == "1" and plan.node("attempt@1.2").value_json == "2"
    assert [(loop.name, loop.bound, loop.until) for loop in plan.loops] == [
        ("attempt", 3, "done"), ("round", 2, None)]


def test_after_an_inner_early_exit_the_outer_body_reads_the_step_it_stopped_at() -> None:
    plan = plan_of(NESTED)
    summary = plan.node("summary@0")
    assert [b.source for b in summary.inputs] == ["draft.last@0", "notes.last@0"]
    last = plan.node("notes.last@0")
    assert (last.kind, last.step, last.loop) == ("last", 0, "round")
    assert [b.source for b in last.inputs] == [
        "notes@0.0", "notes@0.1", "notes@0.2", "done@0.0", "done@0.1", "done@0.2"]
    # the inner loop of the next outer step starts from where the last one stopped
    assert dict((b.name, b.source) for b in plan.node("notes@1.0").inputs)["left"] == "notes.last@0"
    # after the outer loop: its last step
    assert [b.source for b in plan.node("pred").inputs] == ["summary@1", "notes.last@1"]


def test_an_outer_until_guards_the_inner_steps_of_the_later_outer_steps() -> None:
    source = BASE + """loop round in 0..2 until enough {
  loop attempt in 0..2 {
    node draft = step(question, notes)
    notes = notes + draft
  }
  node enough = ok(notes)
}
output notes
"""
    plan = plan_of(source)
    assert plan.node("draft@1.0").when == (Guard("enough@0", ("false",)),)
    assert plan.node("draft@1.1").when == (Guard("enough@0", ("false",)),)
    assert plan.node("enough@1").when == (Guard("enough@0", ("false",)),)
    assert plan.outputs[0].source == "notes.last"


def test_a_nested_plan_round_trips() -> None:
    plan = plan_of(NESTED)
    assert decode_plan(encode_plan(plan)) == plan


def test_loop_variables_are_visible_in_nested_bodies_only() -> None:
    inner_var_outside = BASE + """loop round in 0..2 {
  loop attempt in 0..2 {
    node draft = counted(question, round, attempt)
  }
  node late = counted(question, round, attempt)
}
output late
"""
    assert codes(inner_var_outside) == ["E0102"]


def test_a_state_is_updated_in_one_loop_whatever_the_nesting() -> None:
    twice = BASE + """loop round in 0..2 {
  loop attempt in 0..2 {
    node draft = step(question, notes)
    notes = notes + draft
  }
  notes = notes + "."
}
output notes
"""
    assert codes(twice) == ["E0304"]


def test_reading_what_an_inner_loop_updates_before_it_is_a_cycle() -> None:
    """In the outer body a state the inner loop updates is its value after the inner
    loop, like any loop's state after the loop; feeding that to the loop is a cycle."""
    cycle = BASE + """loop round in 0..2 {
  node q = step(question, notes)
  loop attempt in 0..2 {
    node draft = step(q, notes)
    notes = notes + draft
  }
}
output notes
"""
    result = compile_text(cycle)
    assert [d.code for d in result.diagnostics] == ["E0301"]
    assert "loop attempt" in result.diagnostics[0].message


def test_until_names_a_node_of_its_own_loop_body() -> None:
    outer_node = BASE + """loop round in 0..2 {
  node done = ok(question)
  loop attempt in 0..2 until done {
    node draft = step(question, notes)
    notes = notes + draft
  }
}
output notes
"""
    assert codes(outer_node) == ["E0307"]


def test_nested_bounds_multiply_against_the_limit() -> None:
    within = BASE + """loop a in 0..10 {
  loop b in 0..100 {
    node x = step(question, notes)
  }
}
output x
"""
    assert "E0308" not in codes(within)
    beyond = within.replace("0..100", "0..101")
    result = compile_text(beyond)
    assert [d.code for d in result.diagnostics] == ["E0308"]
    assert "1010 steps" in result.diagnostics[0].message


def test_nesting_deeper_than_eight_is_refused() -> None:
    body = "node x = step(question, notes)"
    for i in range(9):
        body = f"loop l{i} in 0..1 {{\n{body}\n}}"
    result = compile_text(BASE + body + "\noutput x\n")
    assert [d.code for d in result.diagnostics] == ["E0308"]
    assert "nested 9 deep" in result.diagnostics[0].message


def test_fmt_indents_nested_bodies_and_is_idempotent() -> None:
    squashed = NESTED.replace("\n  ", "\n").replace("\n    ", "\n")
    formatted, diagnostics = format_source(squashed, "t.adf")
    assert diagnostics == () and formatted is not None
    assert "\n  loop attempt in 0..3 until done {\n    node draft = counted(q, round, attempt)\n" \
        in formatted
    assert format_source(formatted, "t.adf")[0] == formatted


def test_nested_steps_are_drawn_as_their_own_clusters_and_cost_a_range() -> None:
    from adf.analysis.branchcost import branch_range
    from adf.analysis.drawing import build_drawing, group_label

    plan = plan_of(NESTED)
    labels = [group_label(g) for g in build_drawing(plan).groups()]
    assert labels[:5] == ["round @ 0", "attempt @ 0.0", "attempt @ 0.1", "attempt @ 0.2",
                          "round @ 1"]
    calls = {n.id: 1.0 for n in plan.nodes if n.kind == "llm"}
    cost = branch_range(plan, calls)
    # per round: q, then 1 to 3 attempts of (draft, done), then summary; then pred
    assert (cost.low, cost.high) == (2 * (1 + 2 + 1) + 1, 2 * (1 + 6 + 1) + 1)


def test_a_dead_copy_in_a_nested_loop_is_named_by_both_steps() -> None:
    from adf.analysis.config import LintConfig
    from adf.analysis.lint import run_lints

    source = BASE + """loop round in 0..2 {
  loop attempt in 0..2 {
    node draft = step(question, notes)
  }
}
node pred = step(question, draft)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""
    found = [d.message for d in run_lints(plan_of(source), "t.adf", LintConfig())
             if d.code == "W0504"]
    assert "`draft` is computed but never used at time steps 0.0, 0.1, 1.0 of loop `attempt`" \
        in found, found


# --- the plan names each loop's parent; the size lint counts what nesting unrolls to ---


def test_each_loop_names_the_loop_around_it_and_flat_plans_keep_their_bytes() -> None:
    import msgpack

    plan = plan_of(NESTED)
    assert [(loop.name, loop.parent) for loop in plan.loops] == [
        ("attempt", "round"), ("round", None)]
    raw = msgpack.unpackb(encode_plan(plan))
    assert [loop.get("parent") for loop in raw["loops"]] == ["round", None]
    flat = plan_of(BASE + """loop round in 0..2 {
  node q = step(question, notes)
  notes = notes + q
}
output notes
""")
    # a loop at the top level writes no parent: plans without nesting keep their bytes
    assert "parent" not in msgpack.unpackb(encode_plan(flat))["loops"][0]


def test_a_nested_plan_written_before_loops_named_their_parent_is_refused() -> None:
    import pytest

    from adf.plan import PlanError
    from adf.records import replace

    plan = plan_of(NESTED)
    old = replace(plan, loops=tuple(replace(loop, parent=None) for loop in plan.loops))
    with pytest.raises(PlanError, match=r"older adf; recompile it with `adfc compile`"):
        decode_plan(encode_plan(old))
    unknown = replace(plan, loops=tuple(replace(loop, parent="nowhere") if loop.parent else loop
                                        for loop in plan.loops))
    with pytest.raises(PlanError, match="nested in unknown loop 'nowhere'"):
        decode_plan(encode_plan(unknown))


def _size_lint(source: str, **limits: int) -> list[Diagnostic]:
    from adf.analysis.config import LoopLimits
    from adf.analysis.graphview import build_view
    from adf.analysis.loopsize import check_loop_sizes
    from adf.analysis.sizes import compute_sizes

    view = build_view(plan_of(source))
    return check_loop_sizes(view, compute_sizes(view), LoopLimits(**limits), "t.adf")


def test_the_size_lint_counts_every_copy_of_the_loops_nested_in_a_loop() -> None:
    plan = plan_of(NESTED)
    inner = sum(1 for n in plan.nodes if n.loop == "attempt")
    outer = sum(1 for n in plan.nodes if n.loop == "round")
    assert (inner, outer) == (2 * 3 * 4, 12)
    # the outer loop unrolls to its own 12 nodes and the inner loop's 24 copies: over 30,
    # which its own nodes alone are not; one warning, at the outermost loop over the limit
    (found,) = _size_lint(NESTED, max_unrolled_nodes=30)
    assert (found.code, found.primary.span.line) == ("W0511", 10)
    assert found.message == "loop `round` unrolls to 36 nodes, more than the limit of 30"
    assert found.primary.message == "2 steps × 18 nodes"
    assert [(label.span.line, label.message) for label in found.secondary] == [
        (12, "24 of them in loop `attempt`: 2 × 3 steps × 4 nodes")]
    assert _size_lint(NESTED, max_unrolled_nodes=36) == []


def test_the_call_budget_blames_the_top_level_loop_with_its_nested_calls() -> None:
    (found,) = _size_lint(NESTED, max_calls_per_sample=5)
    assert found.code == "W0512" and found.primary.span.line == 10
    # per round: q, 3 attempts of (draft, done) and summary; pred after the loop
    assert found.message == "each sample makes 17 model calls, more than the limit of 5"
    assert found.primary.message == "16 calls: 2 steps × 8 per step"
