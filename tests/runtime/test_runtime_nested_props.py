"""Nested loops over generated programs on the fake server.

Each program has a loop inside a loop (either or both may stop early with
`until`), a state updated by the inner loop and one by the outer loop,
nodes before and after the inner loop in the outer body, and a prediction
read after the outer loop.

Properties: a node of outer step `i` runs exactly when the outer loop
reached step `i`, and a node of inner step `i.j` when, in addition, the
inner loop of step `i` reached `j`; steps that did not run make no call;
feedback reaches exactly the trainable parameters on the executed path and
nothing in a step that did not run; every parameter's feedback keeps the
plan's time order (inner steps of outer step 0 before outer step 1).
The first property draws at least 500 programs on every run, answered in
process (`rt_direct.DirectClient`); the second draws `ADF_V2_EXAMPLES`
programs (25 by default) through litellm and the fake server over HTTP.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rt_direct import EXAMPLES, PROPERTY, compiled, header, loop_reply, questions, run_both
from rt_helpers import responder
from rt_paths import executed_path, in_plan_order, trainable

from adf.plan.schema import Plan
from adf.runtime.trace import SampleResult


@st.composite
def nested_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 3))
    lines, system = header(draw, n_params)
    lines.append(f"const outer = {draw(st.integers(1, 3))}")
    lines.append(f"const inner = {draw(st.integers(1, 3))}")
    lines.append(f'llm step(a: str, b: str) -> str using m {{ system: [{system()}] user: "{{a}} {{b}} @step" }}')
    lines.append(f'llm stop(a: str) -> bool using m {{ system: [{system()}] user: "{{a}} (bool)" }}')
    lines.append(f'llm final(a: str) -> str using m {{ system: [{system()}] user: "{{a}} @final" }}')
    lines.append('state notes: str = ""')
    lines.append('state plan: str = ""')
    outer_until = draw(st.booleans())
    inner_until = draw(st.booleans())
    before = draw(st.booleans())
    lines.append("loop hop in 0..outer" + (" until enough {" if outer_until else " {"))
    if before:
        lines.append("  node q = step(question, plan)")
    lines.append("  loop k in 0..inner" + (" until done {" if inner_until else " {"))
    lines.append(f"    node x = step({'q' if before else 'question'}, "
                 f"{draw(st.sampled_from(['notes', 'plan + notes']))})")
    lines.append("    notes = notes + x")
    if inner_until:
        lines.append("    node done = " + draw(st.sampled_from(["stop(x)", "stop(notes + x)"])))
    lines.append("  }")
    lines.append("  node y = " + draw(st.sampled_from(["step(x, notes)", "step(question, x)"])))
    lines.append("  plan = plan + y")
    if outer_until:
        lines.append("  node enough = stop(y)")
    lines.append("}")
    pred = draw(st.sampled_from(["final(notes)", "final(y)", "notes", "y", "x", "plan"]))
    lines.append(f"node pred = {pred}")
    lines.append("loss acc = std.loss.exact_match(pred, answer)")
    lines.append("output pred")
    return "\n".join(lines) + "\n"


respond = responder(loop_reply)

SAMPLES = questions(3)
MANY = settings(PROPERTY, max_examples=max(EXAMPLES, 500))


def reached(workflow: Plan, sample: SampleResult) -> dict[tuple[int, ...], bool]:
    """Whether each time step ran: outer step `(i,)` when the outer loop got there,
    inner step `(i, j)` when, too, the inner loop of step `i` got to `j`."""
    values = {t.node: t.value for t in sample.nodes}
    bounds = {loop.name: loop.bound for loop in workflow.loops}
    outer, inner = bounds["hop"], bounds["k"]
    ran: dict[tuple[int, ...], bool] = {}
    going = True
    for i in range(outer):
        ran[(i,)] = going
        inside = going
        for j in range(inner):
            ran[(i, j)] = inside
            inside = inside and values.get(f"done@{i}.{j}") is not True
        going = going and values.get(f"enough@{i}") is not True
    return ran


@MANY
@given(nested_programs())
def test_inner_and_outer_exits_stop_their_steps_and_feedback_follows_the_run(
    source: str,
) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond, direct=True)
    result, grads = done.result, done.grads
    ran_calls = 0
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        ran = reached(workflow, sample)
        statuses = {t.node: t.status for t in sample.nodes}
        for node in workflow.nodes:
            expected = "ok" if ran.get(node.time, True) else "untaken"
            assert statuses[node.id] == expected, (node.id, node.time)
            ran_calls += int(node.kind == "llm" and statuses[node.id] == "ok")
        path = executed_path(workflow, sample, workflow.losses[0].pred)
        expected_params = {p for node_id in path for p in trainable(workflow, node_id)}
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected_params
        assert {f.node for f in mine} <= set(path)
        assert all(ran.get(workflow.node(f.node).time, True) for f in mine)
    assert done.forward_requests == ran_calls
    assert grads.failures == ()


@PROPERTY
@given(nested_programs())
def test_nested_feedback_keeps_time_order(source: str) -> None:
    workflow = compiled(source)
    grads = run_both(workflow, SAMPLES, respond).grads
    for mine in in_plan_order(workflow, grads, SAMPLES):
        times = [workflow.node(f.node).time for f in mine if workflow.node(f.node).time]
        assert [t[0] for t in times] == sorted(t[0] for t in times)  # outer steps in order
        inner = [t for t in times if len(t) == 2]
        assert inner == sorted(inner)  # and inner steps: 0.0, 0.1, 1.0, ...
