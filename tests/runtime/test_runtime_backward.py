from __future__ import annotations

import asyncio

from rt_helpers import backward_keys, client, is_backward, responder
from rt_plans import INT, data, fn, llm, loss, model, plan, prompt
from test_runtime_forward import counting, forward_answer, samples

from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeServer, Request, last_user


def test_only_failing_samples_get_backward_calls_and_frozen_params_get_nothing() -> None:
    with FakeServer(responder(forward_answer)) as server:
        workflow = counting(server.base_url)
        result = asyncio.run(evaluate(workflow, samples(), client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        requests = server.requests
    assert grads.samples == 2 and grads.passed == 1
    assert grads.calls == 2 == len(requests)
    assert all(is_backward(r) for r in requests)
    # the trainable peers get feedback, the frozen answer_format never does
    assert {f.param for f in grads.feedback} == {"instruction", "examples"}
    assert [(f.sample, f.param) for f in grads.feedback] == [
        ("s1", "instruction"), ("s1", "examples"), ("s2", "instruction"), ("s2", "examples")]
    first = grads.feedback[0]
    assert first.text == "fix instruction at solve" and first.node == "solve"
    assert first.score == 0.0 and first.loss == "acc"
    # the engine sees the full prompt, the output and the loss message
    # (the two samples are walked concurrently: find s1's request by content)
    prompt_text = next(t for t in map(last_user, requests) if "pears" in t)
    assert "Finish with: Answer: <integer>" in prompt_text
    assert "How many pears?" in prompt_text and "I do not know" in prompt_text
    assert "expected answer is 3" in prompt_text
    assert backward_keys(requests[0]) == ["instruction", "examples"]


def test_all_passing_samples_make_no_backward_calls() -> None:
    with FakeServer(responder(forward_answer)) as server:
        workflow = counting(server.base_url)
        result = asyncio.run(evaluate(workflow, samples()[:1], client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        assert server.request_count == 0
    assert grads.calls == 0 and grads.feedback == () and grads.passed == 1


def chain(base_url: str) -> Plan:
    """draft (trainable p1) -> fn upper -> refine (trainable p2, frozen p3) -> loss."""
    return plan(
        models=[model("m", base_url), model("judge", base_url)],
        params=[prompt("p1", "Draft."), prompt("p2", "Refine."), prompt("p3", "Rules", frozen=True)],
        inputs=[data("question")], targets=[data("answer", INT)],
        nodes=[
            llm("draft", {"question": "question"}, system=["$p1"], user=["{question}"]),
            fn("clean", "std.parse.strip", {"text": "draft"}),
            llm("refine", {"text": "clean", "question": "question"}, system=["$p2", "$p3"],
                user=["{question}: {text}"], out=INT),
        ],
        losses=[loss("acc", "std.loss.exact_match", "refine", "answer")],
        backward_model="judge",
    )


def test_feedback_flows_through_fn_nodes_to_upstream_llm_params() -> None:
    def forward(request: Request) -> str:
        return "42" if ":" in last_user(request) else " draft text "

    with FakeServer(responder(forward)) as server:
        workflow = chain(server.base_url)
        sample = Sample("s", (("question", "q"),), (("answer", 7),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        requests = server.requests
    assert grads.calls == 2
    # refine is reviewed first and asked about p2 and its node input `text` (not `question`)
    assert backward_keys(requests[0]) == ["p2", "text"]
    assert backward_keys(requests[1]) == ["p1"]
    # the input feedback from refine reached draft's review unchanged through `clean`
    assert "fix text at refine" in last_user(requests[1])
    assert [(f.param, f.node) for f in grads.feedback] == [("p1", "draft"), ("p2", "refine")]


def test_unusable_engine_replies_are_recorded_not_raised() -> None:
    def forward(request: Request) -> str:
        if is_backward(request):
            return "%%% not what was asked"
        return "42" if ":" in last_user(request) else "draft"

    with FakeServer(forward) as server:
        workflow = chain(server.base_url)
        sample = Sample("s", (("question", "q"),), (("answer", 7),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        grads = asyncio.run(backward(workflow, result, client()))
    assert grads.feedback == ()
    assert grads.calls == 1  # nothing usable reached `draft`: no second call
    assert [f.node for f in grads.failures] == ["refine"]
    assert "no usable feedback for p2, text" in grads.failures[0].message


def test_loop_feedback_keeps_time_order() -> None:
    def forward(request: Request) -> str:
        return "1"

    with FakeServer(responder(forward)) as server:
        nodes = [llm("step@0", {"x": "question"}, system=["$p"], user=["{x}"], function="step")]
        for t in (1, 2):
            nodes.append(llm(f"step@{t}", {"x": f"step@{t - 1}"}, system=["$p"], user=["{x}"],
                             function="step"))
        workflow = plan(
            models=[model("m", server.base_url)], params=[prompt("p", "Go.")],
            inputs=[data("question")], targets=[data("answer", INT)], nodes=nodes,
            losses=[loss("acc", "std.loss.exact_match", "step@2", "answer")],
        )
        result = asyncio.run(evaluate(workflow, [Sample("s", (("question", "q"),),
                                                        (("answer", 9),))], client()))
        grads = asyncio.run(backward(workflow, result, client()))
    assert [f.node for f in grads.for_param("p")] == ["step@0", "step@1", "step@2"]
    assert [f.step for f in grads.for_param("p")] == [0, 1, 2]
    assert grads.calls == 3


def test_threshold_selects_samples() -> None:
    with FakeServer(responder(lambda r: "Answer: 2 and 3")) as server:
        workflow = plan(
            models=[model("m", server.base_url)], params=[prompt("p", "Say.")],
            inputs=[data("question")], targets=[data("answer")],
            nodes=[llm("say", {"q": "question"}, system=["$p"], user=["{q}"])],
            losses=[loss("f", "std.loss.f1", "say", "answer")],
        )
        sample = Sample("s", (("question", "q"),), (("answer", "answer 2 and 3 and 4"),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        score = result.samples[0].score
        assert score is not None and 0.5 < score < 0.9
        low = asyncio.run(backward(workflow, result, client(), threshold=0.5))
        high = asyncio.run(backward(workflow, result, client(), threshold=0.9))
    assert low.calls == 0 and high.calls == 1
    assert [fn_.param for fn_ in high.feedback] == ["p"]


def test_no_trainable_param_upstream_means_no_call() -> None:
    with FakeServer(responder(lambda r: "5")) as server:
        workflow = plan(
            models=[model("m", server.base_url)], params=[prompt("p", "Say.", frozen=True)],
            inputs=[data("question")], targets=[data("answer", INT)],
            nodes=[llm("say", {"q": "question"}, system=["$p"], user=["{q}"], out=INT),
                   fn("n", "std.op.add", {"left": "say", "right": "say"}, out=INT)],
            losses=[loss("acc", "std.loss.exact_match", "n", "answer")],
        )
        result = asyncio.run(evaluate(workflow, [Sample("s", (("question", "q"),),
                                                        (("answer", 1),))], client()))
        server.reset()
        grads = asyncio.run(backward(workflow, result, client()))
        assert server.request_count == 0
    assert grads.samples == 1 and grads.calls == 0 and grads.feedback == ()


def test_failed_backward_calls_are_counted_and_recorded() -> None:
    def forward(request: Request) -> str:
        if is_backward(request):
            raise RuntimeError("engine down")  # the fake server answers 500
        return "42" if ":" in last_user(request) else "draft"

    with FakeServer(forward) as server:
        workflow = chain(server.base_url)
        sample = Sample("s", (("question", "q"),), (("answer", 7),))
        result = asyncio.run(evaluate(workflow, [sample], client()))
        grads = asyncio.run(backward(workflow, result, client(max_retries=0)))
    assert grads.calls == 1 and grads.failed_calls == 1 and grads.feedback == ()
    assert grads.failures[0].node == "refine"
    assert grads.failures[0].message.startswith("backward call failed")
