"""Per-item work (`map`) over generated programs on the fake server.

Properties: exactly the items the list holds (up to the bound) run, and the
others make no call; the map's value is the items' results in order; feedback
reaches exactly the trainable parameters on the executed path, each record of
a node inside a map carries that node's item number, items past the list's
end get nothing, and every parameter's feedback keeps the plan's time order.
`ADF_V2_EXAMPLES` sets how many programs each property draws. With
`ADF_V2_EXAMPLES=500 ADF_V2_TRANSPORT=direct` both properties passed on 500
generated programs each (about two minutes on the shared two-core machine).
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, compiled, header, questions, run_both, tag
from rt_helpers import responder
from rt_paths import executed_path, in_plan_order, trainable

from adf.testing.fake_server import Request, last_user


@st.composite
def map_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 3))
    bound = draw(st.integers(1, 4))
    lines, system = header(draw, n_params)
    lines.append(f"const most = {bound}")

    lines.append(f'llm find(a: str) -> list[str] using m {{ system: [{system()}] user: "{{a}} (list)" }}')
    lines.append(f'llm each(a: str, b: str) -> str using m {{ system: [{system()}] user: "{{a}} {{b}} @each" }}')
    lines.append(f'llm final(a: list[str]) -> str using m {{ system: [{system()}] user: "{{a}} @final" }}')
    lines.append("fn join(items: list[str]) -> str = std.text.join")
    lines.append("node found = find(question)")
    body = draw(st.sampled_from(["each(question, p)", "each(p, p)", "p", "each(question, p + \"!\")",
                                 "each(question, each(p, question))"]))
    in_loop = draw(st.booleans())
    if in_loop:
        lines.append("loop hop in 0..2 {")
        lines.append(f"  node parts = map p in found max most => {body}")
        lines.append("}")
    else:
        lines.append(f"node parts = map p in found max most => {body}")
    pred = draw(st.sampled_from(["final(parts)", "join(parts)"]))
    lines.append(f"node pred = {pred}")
    lines.append("loss acc = std.loss.exact_match(pred, answer)")
    lines.append("output pred")
    return "\n".join(lines) + "\n"


def forward_reply(request: Request) -> str:
    text = last_user(request)
    if text.endswith("(list)"):  # 0 to 5 items: shorter and longer than the bound
        return json.dumps([f"doc{i}" for i in range(tag(text) % 6)])
    return f"out-{tag(text):x}"


respond = responder(forward_reply)
SAMPLES = questions(3)


@PROPERTY
@given(map_programs())
def test_items_run_as_far_as_the_list_and_feedback_follows_them(source: str) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond)
    result, grads = done.result, done.grads
    ran = 0
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        values = {t.node: t for t in sample.nodes}
        for node in workflow.nodes:
            if node.kind != "map":
                continue
            listed = values[node.inputs[0].source].value
            count = min(len(listed), len(node.inputs) - 1)
            assert values[node.id].value == [values[b.source].value
                                             for b in node.inputs[1:count + 1]]
            for i, binding in enumerate(node.inputs[1:]):
                item_node = workflow.node(binding.source)
                assert (values[binding.source].status == "ok") == (i < count), item_node.id
        for node in workflow.nodes:
            trace = values[node.id]
            if node.item is not None and trace.status == "ok":
                item_id = next(g.source for g in node.when if not g.cases) if node.kind != "item" \
                    else node.id
                assert values[item_id].status == "ok"
            ran += int(node.kind == "llm" and trace.status == "ok")
        path = executed_path(workflow, sample, workflow.losses[0].pred)
        expected = {p for node_id in path for p in trainable(workflow, node_id)}
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected
        assert {f.node for f in mine} <= set(path)
        for f in mine:
            assert f.item == workflow.node(f.node).item
            assert values[f.node].status == "ok"
    assert done.forward_requests == ran
    assert grads.failures == ()


@PROPERTY
@given(map_programs())
def test_item_feedback_keeps_time_order(source: str) -> None:
    workflow = compiled(source)
    grads = run_both(workflow, SAMPLES, respond).grads
    in_plan_order(workflow, grads, SAMPLES)
