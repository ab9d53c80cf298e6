"""Gradient routing through `if` and `match`, over generated programs on the fake server.

Programs are generated as `.adf` source and compiled by the real compiler.
Properties: untaken branches make no model call; feedback reaches exactly
the trainable parameters on the executed path (through the branch taken
and the condition that chose it) and nothing in an untaken branch.
`ADF_V2_EXAMPLES` sets how many programs each property draws.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rt_helpers import client, engine_reply, is_backward
from rt_plans import model

from adf.compiler.pipeline import compile_source
from adf.plan.routing import chosen
from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.runtime.trace import SampleResult
from adf.testing.fake_server import FakeServer, Request, last_user

EXAMPLES = int(os.environ.get("ADF_V2_EXAMPLES", "25"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def routed_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 4))
    lines = ['model m = "openai/fake"', "input question: str", "target answer: str"]
    for i in range(n_params):
        frozen = " frozen" if draw(st.booleans()) else ""
        lines.append(f'param p{i}: prompt{frozen} = "Prompt {i}."')

    def system() -> str:
        used = draw(st.lists(st.integers(0, n_params - 1), max_size=2, unique=True))
        return ", ".join(f"p{u}" for u in used)

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
    tag = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    if text.endswith("(enum)"):
        return "xyz"[tag % 3]
    if text.endswith("(bool)"):
        return "true" if tag % 2 else "false"
    return f"out-{tag:x}"


def respond(request: Request) -> str:
    return engine_reply(request) if is_backward(request) else forward_reply(request)


SAMPLES = [Sample(f"s{i}", (("question", f"question {i}"),), (("answer", "never"),))
           for i in range(3)]


def run(workflow: Plan) -> tuple[Any, Any, int, int]:
    with FakeServer(respond) as server:
        bound = attrs.evolve(workflow, models=(model("m", server.base_url),))
        result = asyncio.run(evaluate(bound, SAMPLES, client(concurrency=4)))
        forward_requests = server.request_count
        grads = asyncio.run(backward(bound, result, client(concurrency=4)))
        return result, grads, forward_requests, server.request_count - forward_requests


def executed_path(workflow: Plan, sample: SampleResult, start: str) -> list[str]:
    """Node ids feedback may reach from `start`: through a select, only the
    branch it took and its condition."""
    traces = {t.node: t for t in sample.nodes}
    by_id = {n.id: n for n in workflow.nodes}
    seen: list[str] = []
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id or traces[current].status != "ok":
            continue
        seen.append(current)
        node = by_id[current]
        if node.kind == "select":
            cond = dict(traces[current].inputs)["cond"]
            stack += [node.inputs[0].source, chosen(node, cond)]
        else:
            stack += [b.source for b in node.inputs]
    return seen


def trainable(workflow: Plan, node_id: str) -> list[str]:
    node = workflow.node(node_id)
    frozen = {p.name for p in workflow.params if p.frozen}
    if node.llm is None:
        return []
    return [p.param for p in node.llm.system if p.kind == "param" and p.param not in frozen]


def compiled(source: str) -> Plan:
    result = compile_source(source, "gen.adf")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


@PROPERTY
@given(routed_programs())
def test_untaken_branches_do_not_run_and_feedback_follows_the_taken_path(source: str) -> None:
    workflow = compiled(source)
    result, grads, forward_requests, _ = run(workflow)
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
    _, grads, _, _ = run(workflow)
    index = {n.id: i for i, n in enumerate(workflow.nodes)}
    for items in grads.by_param().values():
        for sample in SAMPLES:
            mine = [index[f.node] for f in items if f.sample == sample.id]
            assert mine == sorted(mine)
