"""Tool-calling llms on the fake server, through litellm: the model picks a tool,
the runtime runs the fn with checked arguments, a finish tool ends the loop,
a bad call is the step's observation (traced, not a failure), and the backward
pass reviews the tool choice and reaches the trainable tool descriptions."""

from __future__ import annotations

import asyncio
import json

from rt_helpers import client, engine_reply, is_backward
from rt_plans import model

from adf.compiler.pipeline import compile_source
from adf.plan.codec import decode_plan, encode_plan
from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeReply, FakeServer, Request, last_user, tool_reply, tools_of

SOURCE = """\
model m = "openai/fake"
param agent: prompt "how to use the tools" = "Use the calculator, then give the final answer."
param calc_doc: prompt "what the calculator does" = "Evaluate arithmetic such as 6 * 7."
param frozen_doc: prompt frozen = "Give the final answer."
input question: str
target answer: float
const steps = 3

fn calculator(expression: str) -> str = std.tools.calculator
fn final_answer(answer: str) -> str = std.tools.final_answer
fn last_number(text: str) -> float = std.parse.last_number

llm act(question: str, notes: str) -> tool_call using m {
  system: [agent]
  user: "Problem: {question}\\nSo far:{notes}"
  tools: [calculator: calc_doc, final_answer: frozen_doc]
  finish: [final_answer]
}

state notes: str = ""
loop step in 0..steps until done {
  node call = act(question, notes)
  notes = notes + "\\n" + call.tool + " " + call.arguments + " = " + call.result
  node done = call.done
}
node pred = last_number(call.result)
loss accuracy = std.loss.numeric_match(pred, answer, tolerance: 0.001)
output pred
output notes
"""


def plan(source: str = SOURCE) -> Plan:
    result = compile_source(source, "agent.adf")
    assert result.plan is not None, [d.render() for d in result.diagnostics]
    return result.plan


def run(respond: object, answer: float = 42.0) -> tuple[object, list[Request], object]:
    with FakeServer(respond) as server:  # type: ignore[arg-type]
        bound = replace(plan(), models=(model("m", server.base_url),))
        sample = Sample("s0", (("question", "What is 6 times 7?"),), (("answer", answer),))
        result = asyncio.run(evaluate(bound, [sample], client()))
        grads = asyncio.run(backward(bound, result, client()))
        return result, list(server.requests), grads


def agent(request: Request) -> str | FakeReply:
    if is_backward(request):
        return engine_reply(request)
    assert tools_of(request) == ["calculator", "final_answer"]
    if "calculator" in last_user(request):
        return tool_reply("final_answer", answer="42")
    return tool_reply("calculator", expression="6 * 7")


def test_the_agent_calls_a_tool_then_finishes_and_the_loop_stops() -> None:
    result, requests, _ = run(agent)
    sample = result.samples[0]  # type: ignore[attr-defined]
    assert sample.error is None and sample.score == 1.0
    values = {t.node: t for t in sample.nodes}
    assert values["call@0"].value == {"tool": "calculator", "arguments": '{"expression": "6 * 7"}',
                                      "result": "42", "done": False}
    assert values["call@1"].value["done"] is True and values["call@2"].status == "untaken"
    forward = [r for r in requests if r.get("tools")]
    assert len(forward) == 2
    tools = forward[0]["tools"]
    assert tools[0]["function"]["description"] == "Evaluate arithmetic such as 6 * 7."
    assert tools[0]["function"]["parameters"]["properties"] == {"expression": {"type": "string"}}
    assert forward[0]["tool_choice"] == "required"
    assert "calculator" in forward[1]["messages"][-1]["content"]  # the observation fed back


def test_a_call_written_as_text_is_read_too() -> None:
    def texty(request: Request) -> str:
        if is_backward(request):
            return engine_reply(request)
        if "calculator" in last_user(request):
            return 'I am done. {"name": "final_answer", "arguments": {"answer": "42"}}'
        return "calculator(6 * 7)"

    result, _, _ = run(texty)
    assert result.samples[0].score == 1.0  # type: ignore[attr-defined]


def test_bad_calls_are_observations_with_a_traced_reason_not_failures() -> None:
    replies = iter([
        tool_reply("calculator", expr="6 * 7"),       # wrong argument name
        tool_reply("search", query="six times seven"),  # no such tool
        FakeReply("I think it is 42."),                  # no call at all
    ])

    def bad(request: Request) -> str | FakeReply:
        return engine_reply(request) if is_backward(request) else next(replies)

    result, _, _ = run(bad)
    sample = result.samples[0]  # type: ignore[attr-defined]
    calls = [t for t in sample.nodes if t.node.startswith("call@")]
    assert [t.status for t in calls] == ["ok", "ok", "ok"]
    assert calls[0].value["result"].startswith("error: calculator takes no argument 'expr'")
    assert calls[0].error.startswith("tool call: calculator takes no argument")
    assert "unknown tool 'search'" in calls[1].value["result"]
    assert "called no tool" in calls[2].error
    assert all(t.value["done"] is False for t in calls)
    assert sample.error is None  # the sample ran to its end: scored, not broken


def test_feedback_reviews_the_tool_choice_and_reaches_the_trainable_description() -> None:
    result, requests, grads = run(agent, answer=41.0)
    assert result.samples[0].score == 0.0  # type: ignore[attr-defined]
    asked = [last_user(r) for r in requests if is_backward(r)]
    # the notes are concatenated from two trained inputs: those `+` steps ask for the blame split
    blame = [text for text in asked if "which runs no model" in text]
    reviews = [text for text in asked if text not in blame]
    assert blame and all("## The inputs to assign the blame to" in text for text in blame)
    assert reviews and all("[tools offered]" in text for text in reviews)
    assert any("It called calculator with" in text for text in reviews)
    assert any("the description of the tool `calculator`" in text for text in reviews)
    received = {f.param for f in grads.feedback}  # type: ignore[attr-defined]
    assert received == {"agent", "calc_doc"}  # frozen_doc is frozen: nothing
    steps = [f.step for f in grads.feedback if f.param == "calc_doc"]  # type: ignore[attr-defined]
    assert steps == sorted(steps) and set(steps) == {0, 1}  # time order, only steps that ran


def test_a_tool_plan_round_trips_and_plain_plans_hold_no_tools_field() -> None:
    workflow = plan()
    assert decode_plan(encode_plan(workflow)) == workflow
    act = next(n for n in workflow.nodes if n.llm is not None)
    assert [t.name for t in act.llm.tools] == ["calculator", "final_answer"]  # type: ignore[union-attr]
    assert [t.finish for t in act.llm.tools] == [False, True]  # type: ignore[union-attr]
    plain = plan('model m = "openai/fake"\ninput q: str\nllm a(q: str) -> str { user: "{q}" }\n'
                 "node r = a(q)\noutput r\n")
    assert b"tools" not in encode_plan(plain)


def test_tool_definitions_are_json_schema_of_the_fn_signature() -> None:
    from adf.runtime.tools import tool_definitions

    act = next(n for n in plan().nodes if n.llm is not None)
    defined = json.loads(tool_definitions(act.llm.tools, {"calc_doc": "doc", "frozen_doc": ""}))  # type: ignore[union-attr]
    assert defined[0] == {"type": "function", "function": {
        "name": "calculator", "description": "doc",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                       "required": ["expression"], "additionalProperties": False}}}
    assert "description" not in defined[1]["function"]
