"""Property tests of the backward pass over random unrolled graphs, on the fake server."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rt_helpers import client, engine_reply, hashed_reply, is_backward
from rt_plans import data, fn, llm, loss, model, plan, prompt

from adf.plan.schema import Node, Plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import EvalResult, backward, evaluate
from adf.testing.fake_server import FakeServer, Request


@attrs.frozen
class Case:
    plan: Plan
    pred: str


@st.composite
def workflows(draw: st.DrawFn) -> Case:
    """A random DAG of llm/fn nodes, optionally with an unrolled loop, and one loss."""
    n_params = draw(st.integers(1, 4))
    params = [prompt(f"p{i}", f"Prompt {i}.", frozen=draw(st.booleans())) for i in range(n_params)]
    names = [p.name for p in params]
    sources = ["question"]
    nodes: list[Node] = []

    def add_node(node_id: str, inputs: list[str], kind: str, used: list[str]) -> None:
        if kind == "llm":
            bindings = {f"a{i}": s for i, s in enumerate(inputs)}
            nodes.append(llm(node_id, bindings, system=[f"${p}" for p in used],
                             user=[" | ".join(f"{{{k}}}" for k in bindings) + f" @{node_id}"],
                             function=node_id.split("@")[0]))
        elif len(inputs) == 1:
            nodes.append(fn(node_id, "std.parse.strip", {"text": inputs[0]}))
        else:
            nodes.append(fn(node_id, "std.op.add", {"left": inputs[0], "right": inputs[1]}))

    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["llm", "llm", "fn"]))
        inputs = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=2, unique=True))
        used = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        add_node(f"n{i}", inputs, kind, used)
        sources.append(f"n{i}")
    if draw(st.booleans()):  # a loop: h@t reads the previous step (state) and maybe a node
        steps = draw(st.integers(1, 3))
        used = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        extra = draw(st.sampled_from(sources))
        state = "question"
        for t in range(steps):
            add_node(f"h@{t}", list(dict.fromkeys([state, extra])), "llm", used)
            state = f"h@{t}"
            sources.append(state)
    for i in range(draw(st.integers(0, 2))):  # more nodes, possibly downstream of the loss
        inputs = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=2, unique=True))
        add_node(f"m{i}", inputs, "llm", draw(st.lists(st.sampled_from(names), max_size=2,
                                                        unique=True)))
        sources.append(f"m{i}")
    pred = draw(st.sampled_from(sources[1:]))
    return Case(
        plan(models=[model("m", "http://127.0.0.1:9/v1")], params=params,
             inputs=[data("question")], targets=[data("answer")], nodes=nodes,
             losses=[loss("acc", "std.loss.exact_match", pred, "answer")], backward_model="m"),
        pred,
    )


def ancestors(workflow: Plan, node_id: str) -> list[Node]:
    by_id = {n.id: n for n in workflow.nodes}
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        stack += [b.source for b in by_id[current].inputs]
    return [n for n in workflow.nodes if n.id in seen]


def trainable_in(workflow: Plan, node: Node) -> list[str]:
    if node.llm is None:
        return []
    frozen = {p.name for p in workflow.params if p.frozen}
    return [p.param for p in node.llm.system if p.kind == "param" and p.param not in frozen]


def with_server(workflow: Plan, url: str) -> Plan:
    return replace(workflow, models=(model("m", url),))




def jittery(seed: int) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(request: Request) -> str:
        with lock:
            delay = rng.random() * 0.004
        time.sleep(delay)
        return engine_reply(request) if is_backward(request) else hashed_reply(request)

    return respond


SAMPLES = [Sample(f"s{i}", (("question", f"question {i}"),), (("answer", "never"),))
           for i in range(2)]


def run(workflow: Plan, samples: list[Sample], seed: int) -> tuple[EvalResult, Any, int]:
    with FakeServer(jittery(seed)) as server:
        bound = with_server(workflow, server.base_url)
        result = asyncio.run(evaluate(bound, samples, client(concurrency=4)))
        before = server.request_count
        grads = asyncio.run(backward(bound, result, client(concurrency=4)))
        return result, grads, server.request_count - before


PROPERTY = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(workflows())
def test_feedback_reaches_exactly_the_trainable_params_upstream_of_the_loss(case: Case) -> None:
    result, grads, requests = run(case.plan, SAMPLES, seed=1)
    upstream = ancestors(case.plan, case.pred)
    expected = {p for node in upstream for p in trainable_in(case.plan, node)}
    assert all(s.score == 0.0 for s in result.samples)
    for sample in SAMPLES:
        got = {f.param for f in grads.feedback if f.sample == sample.id}
        assert got == expected
    frozen = {p.name for p in case.plan.params if p.frozen}
    assert not {f.param for f in grads.feedback} & frozen
    assert {f.node for f in grads.feedback} <= {n.id for n in upstream}
    # one engine call per upstream llm node that can reach a trainable param, and one per
    # upstream function with several such inputs (the blame split between them)
    carrying: set[str] = set()
    for node in case.plan.nodes:
        if trainable_in(case.plan, node) or any(b.source in carrying for b in node.inputs):
            carrying.add(node.id)
    calls = [n for n in upstream if n.id in carrying and (n.kind == "llm" or (
        n.kind == "fn" and len({b.source for b in n.inputs if b.source in carrying}) > 1))]
    assert grads.calls == len(SAMPLES) * len(calls) == requests
    assert grads.failures == ()


@PROPERTY
@given(workflows())
def test_per_param_feedback_keeps_time_order(case: Case) -> None:
    _, grads, _ = run(case.plan, SAMPLES, seed=2)
    index = {n.id: i for i, n in enumerate(case.plan.nodes)}
    for items in grads.by_param().values():
        for sample in SAMPLES:
            mine = [f for f in items if f.sample == sample.id]
            assert [index[f.node] for f in mine] == sorted(index[f.node] for f in mine)
            steps = [f.step for f in mine if f.step is not None]
            assert steps == sorted(steps)
        # samples stay grouped in batch order
        order = [f.sample_index for f in items]
        assert order == sorted(order)


@PROPERTY
@given(workflows())
def test_passing_samples_make_no_backward_calls(case: Case) -> None:
    first, _, _ = run(case.plan, SAMPLES, seed=3)
    predictions = [s.node(case.pred).value for s in first.samples]
    passing = [replace(s, targets=(("answer", p),)) for s, p in zip(SAMPLES, predictions,
                                                                         strict=True)]
    result, grads, requests = run(case.plan, passing, seed=3)
    assert all(s.score == 1.0 for s in result.samples)
    assert grads.calls == 0 and requests == 0 and grads.feedback == ()


def projection(result: EvalResult) -> Any:
    return [
        ([(t.node, t.status, t.raw, t.value, t.error, t.messages) for t in s.nodes],
         s.losses, s.error, s.outputs)
        for s in result.samples
    ]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(), st.integers(0, 2**16))
def test_results_do_not_depend_on_scheduling(case: Case, seed: int) -> None:
    one, grads_one, _ = run(case.plan, SAMPLES, seed=seed)
    two, grads_two, _ = run(case.plan, SAMPLES, seed=seed + 1)
    assert projection(one) == projection(two)
    assert grads_one.feedback == grads_two.feedback
    assert grads_one.calls == grads_two.calls
