"""Gradient routing through `if` and `match`, over generated programs on the fake server.

Programs are generated as `.adf` source and compiled by the real compiler.
Properties: untaken branches make no model call; feedback reaches exactly
the trainable parameters on the executed path (through the branch taken
and the condition that chose it) and nothing in an untaken branch.
`ADF_V2_EXAMPLES` sets how many programs each property draws.
Run with `ADF_V2_EXAMPLES=500 ADF_V2_TRANSPORT=direct`, every property here
passed on 500 generated programs (one to two minutes each on the shared
two-core machine).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, compiled, header, questions, run_both, tag
from rt_helpers import responder
from rt_paths import executed_path, trainable

from adf.testing.fake_server import Request, last_user


@st.composite
def routed_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 4))
    lines, system = header(draw, n_params)

    lines.append(f'llm pick(a: str) -> enum{{x, y, z}} using m {{ system: [{system()}] user: "{{a}} (enum)" }}')
    lines.append(f'llm check(a: str) -> bool using m {{ system: [{system()}] user: "{{a}} (bool)" }}')
    for j in range(3):
        lines.append(f'llm g{j}(a: str) -> str using m {{ system: [{system()}] user: "{{a}} @g{j}" }}')
    values = ["question"]

    def branch() -> str:
        src = draw(st.sampled_from(values))
        if draw(st.integers(0, 3)) == 0:
            return src
        return f"g{draw(st.integers(0, 2))}({src})"

    for i in range(draw(st.integers(1, 5))):
        form = draw(st.sampled_from(["call", "match", "if", "nested"]))
        src = draw(st.sampled_from(values))
        if form == "call":
            expr = branch()
        elif form == "match":
            labels = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True))
            arms = [f"{label} => {branch()}" for label in labels]
            if len(labels) < 3:
                arms.append(f"_ => {branch()}")
            expr = f"match pick({src}) {{ {', '.join(arms)} }}"
        elif form == "if":
            expr = f"if check({src}) then {branch()} else {branch()}"
        else:
            expr = f"if check({src}) then (match pick({src}) {{ x => {branch()}, _ => {branch()} }}) else {branch()}"
        lines.append(f"node n{i} = {expr}")
        values.append(f"n{i}")
    pred = draw(st.sampled_from(values[1:]))
    lines.append(f"loss acc = std.loss.exact_match({pred}, answer)")
    return "\n".join(lines) + "\n"


def forward_reply(request: Request) -> str:
    text = last_user(request)
    number = tag(text)
    if text.endswith("(enum)"):
        return "xyz"[number % 3]
    if text.endswith("(bool)"):
        return "true" if number % 2 else "false"
    return f"out-{number:x}"


respond = responder(forward_reply)


SAMPLES = questions(3)


@PROPERTY
@given(routed_programs())
def test_untaken_branches_do_not_run_and_feedback_follows_the_taken_path(source: str) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond)
    result, grads, forward_requests = done.result, done.grads, done.forward_requests
    ran = 0
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        statuses = {t.node: t.status for t in sample.nodes}
        for node in workflow.nodes:
            if statuses[node.id] == "untaken":
                assert node.when or node.kind == "select"
            if node.kind == "llm" and statuses[node.id] == "ok":
                ran += 1
        assert set(statuses.values()) <= {"ok", "untaken"}
        path = executed_path(workflow, sample, workflow.losses[0].pred)
        expected = {p for node_id in path for p in trainable(workflow, node_id)}
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected
        assert all(statuses[f.node] == "ok" for f in mine)  # nothing from an untaken branch
        assert {f.node for f in mine} <= set(path)
    assert forward_requests == ran  # an untaken llm node makes no call
    assert grads.failures == ()


@PROPERTY
@given(routed_programs())
def test_routed_feedback_keeps_time_order(source: str) -> None:
    workflow = compiled(source)
    grads = run_both(workflow, SAMPLES, respond).grads
    index = {n.id: i for i, n in enumerate(workflow.nodes)}
    for items in grads.by_param().values():
        for sample in SAMPLES:
            mine = [index[f.node] for f in items if f.sample == sample.id]
            assert mine == sorted(mine)
