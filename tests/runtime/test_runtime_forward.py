from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rt_helpers import client, responder
from rt_plans import INT, data, demos, fn, llm, loss, model, plan, prompt

from adf.llm.accounting import Accounting
from adf.plan.schema import Demo, Plan
from adf.runtime.data import Sample
from adf.runtime.engine import evaluate, run_one
from adf.testing.fake_server import FakeServer, last_user, system_text


def counting(base_url: str) -> Plan:
    return plan(
        models=[model("m", base_url)],
        params=[prompt("instruction", "Count the objects."),
                prompt("answer_format", "Finish with: Answer: <integer>", frozen=True),
                demos("examples")],
        inputs=[data("question")],
        targets=[data("answer", INT)],
        nodes=[
            llm("solve", {"question": "question"},
                system=["$instruction", "$answer_format", "$examples"],
                user=["Question: {question}"]),
            fn("pred", "std.parse.last_int", {"text": "solve"}, out=INT),
        ],
        losses=[loss("acc", "std.loss.exact_match", "pred", "answer")],
        outputs={"pred": "pred"},
        backward_model="m",
    )


def forward_answer(request: dict) -> str:  # type: ignore[type-arg]
    question = last_user(request)
    if "apples" in question:
        return "There are 7 apples. Answer: 7"
    if "braces" in question:
        return "Answer: {question}"
    return "I do not know"


def samples() -> list[Sample]:
    return [
        Sample("s0", (("question", "How many apples?"),), (("answer", 7),)),
        Sample("s1", (("question", "How many pears?"),), (("answer", 3),)),
        Sample("s2", (("question", "braces {answer}"),), (("answer", 1),)),
    ]


def test_evaluate_scores_traces_and_reports_failures() -> None:
    with FakeServer(responder(forward_answer)) as server:
        workflow = counting(server.base_url)
        accounting = Accounting()
        result = asyncio.run(evaluate(workflow, samples(), client(sinks=[accounting])))
    first, second, third = result.samples
    assert [s.sample.id for s in result.samples] == ["s0", "s1", "s2"]
    assert first.score == 1.0 and first.error is None
    assert first.outputs == (("pred", 7),)
    solve = first.node("solve")
    assert solve.messages[0].content == "Count the objects.\n\nFinish with: Answer: <integer>"
    assert solve.messages[1].content == "Question: How many apples?"
    assert solve.raw == "There are 7 apples. Answer: 7" and solve.value.endswith("Answer: 7")
    # "I do not know" has no integer: the fn node fails, the sample is reported, not crashed
    assert second.score == 0.0
    assert second.error is not None and second.error.node == "pred"
    assert "no integer" in second.error.message
    assert "expected answer is 3" in second.losses[0].message
    # braces in data and in model output stay text
    assert third.node("solve").messages[1].content == "Question: braces {answer}"
    assert third.score == 0.0
    assert result.score == 1 / 3
    usage = accounting.total
    assert (usage.calls, usage.requests, usage.failures) == (3, 3, 0) and usage.tokens > 0


def test_wrong_prediction_loss_message_states_prediction_and_target() -> None:
    with FakeServer(responder(lambda r: "Answer: 5")) as server:
        result = asyncio.run(evaluate(counting(server.base_url), samples()[:1], client()))
    message = result.samples[0].losses[0].message
    assert "prediction 5" in message and "expected answer is 7" in message


def test_params_can_be_overridden_without_recompiling() -> None:
    with FakeServer(responder(forward_answer)) as server:
        workflow = counting(server.base_url)
        override = {"instruction": "NEW {x}",
                    "examples": (Demo((("question", "q"), ("answer", "1"))),)}
        result = asyncio.run(evaluate(workflow, samples()[:1], client(), params=override))
        sent = system_text(server.requests[0])
    assert sent.startswith("NEW {x}\n\nFinish with")
    assert "Example 1:\nquestion: q\nanswer: 1" in sent
    assert result.param_values()["instruction"] == "NEW {x}"


def test_parse_failure_of_typed_llm_output_is_a_sample_error() -> None:
    with FakeServer(responder(lambda r: "no number here")) as server:
        workflow = plan(
            models=[model("m", server.base_url)], params=[prompt("p", "Count.")],
            inputs=[data("question")], targets=[data("answer", INT)],
            nodes=[llm("solve", {"question": "question"}, system=["$p"],
                       user=["{question}"], out=INT)],
            losses=[loss("acc", "std.loss.exact_match", "solve", "answer")],
        )
        result = asyncio.run(evaluate(workflow, samples()[:1], client()))
    sample = result.samples[0]
    assert sample.error is not None and sample.error.kind == "parse"
    assert "could not read the reply as int" in sample.error.message
    assert sample.node("solve").raw == "no number here"
    assert "failed at node solve" in sample.losses[0].message


def test_py_functions_load_next_to_the_source_and_their_errors_name_the_node(
    tmp_path: Path,
) -> None:
    (tmp_path / "rt_helpers_mod.py").write_text(
        "def shout(text: str) -> str:\n"
        "    if 'pears' in text:\n"
        "        raise RuntimeError('pears are not allowed')\n"
        "    return text.upper()\n"
    )
    with FakeServer(responder(lambda r: last_user(r))) as server:
        workflow = plan(
            models=[model("m", server.base_url)], inputs=[data("question")],
            nodes=[fn("loud", "py:rt_helpers_mod:shout", {"text": "question"}),
                   llm("echo", {"q": "loud"}, user=["{q}"])],
            outputs={"out": "echo"},
        )
        one = asyncio.run(run_one(workflow, {"question": "apples"}, client(),
                                  base_dir=str(tmp_path)))
        bad = asyncio.run(run_one(workflow, {"question": "pears"}, client(),
                                  base_dir=str(tmp_path)))
    assert one.outputs == (("out", "APPLES"),) and one.losses == ()
    assert bad.error is not None and bad.error.node == "loud"
    assert "RuntimeError: pears are not allowed" in bad.error.message
    assert bad.node("echo").status == "skipped"


def test_independent_branches_overlap_in_time() -> None:
    with FakeServer(responder(lambda r: "x"), latency_s=0.2) as server:
        workflow = plan(
            models=[model("m", server.base_url)], inputs=[data("question")],
            nodes=[llm(f"b{i}", {"q": "question"}, user=[f"{i}: {{q}}"]) for i in range(4)],
            outputs={f"o{i}": f"b{i}" for i in range(4)},
        )
        asyncio.run(run_one(workflow, {"question": "q"}, client()))
        assert server.max_in_flight == 4


def test_const_nodes_and_records() -> None:
    with FakeServer(responder(lambda r: json.dumps({"n": 2}))) as server:
        from adf.plan.schema import Type

        record = Type("record", fields=(("n", INT),))
        from rt_plans import const

        workflow = plan(
            models=[model("m", server.base_url)], inputs=[data("question")],
            nodes=[const("hint", "use digits"),
                   llm("solve", {"q": "question", "h": "hint"}, user=["{q} ({h})"], out=record)],
            outputs={"out": "solve"},
        )
        result = asyncio.run(run_one(workflow, {"question": "q"}, client()))
        assert last_user(server.requests[0]) == "q (use digits)"
    assert result.outputs == (("out", {"n": 2}),)
