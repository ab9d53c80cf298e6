"""Backward item 7: per-input blame at functions, cleared inputs stop, demos not asked about."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from rt_helpers import backward_keys, backward_node, client, is_backward, responder
from rt_plans import data, demos, fn, llm, loss, model, plan, prompt

from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.backward import BackwardResult, Graph, backward_batch
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeReply, FakeServer, Request, last_user, system_text


def two_into_one(base_url: str) -> Plan:
    """left (p1) and right (p2) -> fn std.op.add -> loss: the fn must split the blame."""
    return plan(
        models=[model("m", base_url)],
        params=[prompt("p1", "Say the first half."), prompt("p2", "Say the second half.")],
        inputs=[data("question")], targets=[data("answer")],
        nodes=[
            llm("left", {"question": "question"}, system=["$p1"], user=["{question}"]),
            llm("right", {"question": "question"}, system=["$p2"], user=["{question}"]),
            fn("both", "std.op.add", {"left": "left", "right": "right"}),
        ],
        losses=[loss("acc", "std.loss.exact_match", "both", "answer")],
    )


def _forward(request: Request) -> str:
    return "A" if "first" in system_text(request) else "B"


def _run(engine: Callable[[Request], str | FakeReply]) -> tuple[BackwardResult, list[Request]]:
    with FakeServer(engine) as server:
        workflow = two_into_one(server.base_url)
        sample = Sample("s", (("question", "q"),), (("answer", "AC"),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        return grads, server.requests


def test_a_function_with_two_trained_inputs_asks_once_and_splits_the_blame() -> None:
    grads, requests = _run(responder(_forward))
    blame = [r for r in requests if backward_node(r) == "both"]
    assert len(blame) == 1 and backward_keys(blame[0]) == ["left", "right"]
    text = last_user(blame[0])
    assert "- left: A" in text and "- right: B" in text and "AB" in text  # inputs and result
    assert grads.calls == 3  # the blame call, then one review per llm node
    by_node = {backward_node(r): last_user(r) for r in requests}
    assert "fix left at both" in by_node["left"] and "fix right at both" not in by_node["left"]
    assert "fix right at both" in by_node["right"] and "fix left at both" not in by_node["right"]
    assert {(f.param, f.node) for f in grads.feedback} == {("p1", "left"), ("p2", "right")}


def test_a_missing_key_falls_back_to_the_shared_feedback() -> None:
    def engine(request: Request) -> str | FakeReply:
        if is_backward(request) and backward_node(request) == "both":
            return json.dumps({"left": "the first half is wrong"})
        return responder(_forward)(request)

    grads, requests = _run(engine)
    by_node = {backward_node(r): last_user(r) for r in requests if is_backward(r)}
    assert "the first half is wrong" in by_node["left"]
    assert "expected" in by_node["right"].lower()  # the loss message itself, shared
    assert [f.node for f in grads.failures] == ["both"]
    assert "no usable text for right" in grads.failures[0].message


def test_an_input_the_engine_clears_costs_no_call_upstream() -> None:
    def engine(request: Request) -> str | FakeReply:
        if is_backward(request) and backward_node(request) == "both":
            return json.dumps({"left": "the first half should be A", "right": "not at fault"})
        return responder(_forward)(request)

    grads, requests = _run(engine)
    assert sorted(backward_node(r) for r in requests) == ["both", "left"]
    assert grads.calls == 2 and {f.param for f in grads.feedback} == {"p1"}


def test_one_trained_input_passes_through_without_a_call() -> None:
    plain = two_into_one("http://127.0.0.1:9")
    graph = Graph.of(plain)
    assert graph.calls() == 3
    frozen = attrs_evolve_frozen(plain, "p2")
    assert Graph.of(frozen).calls() == 1  # right no longer carries: fn passes through


def attrs_evolve_frozen(workflow: Plan, name: str) -> Plan:

    return replace(workflow, params=tuple(
        replace(p, frozen=True) if p.name == name else p for p in workflow.params))


def test_training_does_not_ask_about_demo_sets() -> None:
    def build(base_url: str) -> Plan:
        return plan(
            models=[model("m", base_url)],
            params=[prompt("p", "Answer."), demos("shots"), demos("only")],
            inputs=[data("question")], targets=[data("answer")],
            nodes=[
                llm("first", {"question": "question"}, system=["$only"], user=["{question}"]),
                llm("solve", {"question": "question", "note": "first"},
                    system=["$p", "$shots"], user=["{question} {note}"]),
            ],
            losses=[loss("acc", "std.loss.exact_match", "solve", "answer")],
        )

    with FakeServer(responder(lambda r: "wrong")) as server:
        workflow = build(server.base_url)
        sample = Sample("s", (("question", "q"),), (("answer", "right"),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        server.reset()
        every = asyncio.run(backward_batch(workflow, result.samples, client(),
                                           result.param_values()))
        asked_all = [backward_keys(r) for r in server.requests]
        server.reset()
        trained = asyncio.run(backward_batch(workflow, result.samples, client(),
                                             result.param_values(), kinds=("prompt",)))
        asked = [backward_keys(r) for r in server.requests]
    assert asked_all == [["p", "shots", "note"], ["only"]] and every.calls == 2
    assert asked == [["p"]] and trained.calls == 1  # `first` holds only a demo set
    assert Graph.of(workflow, ("prompt",)).calls() == 1
