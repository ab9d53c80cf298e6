"""Tool-calling llms over generated programs and generated tool sets on the fake server.

Each program declares two to four tools (std functions under new names),
each with no description, a text, or its own description param (frozen or
trainable), and one or two tool-calling llms offering a subset of them, some
of which finish the work. The first llm runs once or in an `until` loop that
stops at a finish tool; the second, when there is one, runs only in the
branch where the first did not finish. The fake model picks a tool by a hash
of its prompt (or answers with no call at all) and calls it with the tool's
own argument name.

Properties: each step's record names the tool chosen, `done` exactly for a
finish tool, and the steps after it do not run; feedback reaches exactly the
trainable parameters on the executed path, where an llm's parameters are its
prompt's and the descriptions of the tools it was offered: a description
offered only by an llm that did not run gets nothing; every review of a
tool step shows the tools offered and the call chosen; each parameter's
feedback keeps the plan's time order.
The first property draws at least 500 programs on every run, with the
model calls answered in process (`rt_direct.DirectClient`: the same
forward and backward passes, no HTTP; about ten seconds); the second draws
`ADF_V2_EXAMPLES` programs (25 by default) through litellm and the fake
server over HTTP, and passed on 500 with `ADF_V2_EXAMPLES=500
ADF_V2_TRANSPORT=direct`.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from rt_direct import EXAMPLES, PROPERTY, compiled, header, questions, run_both, tag
from rt_helpers import responder
from rt_paths import executed_path, in_plan_order

from adf.plan.schema import Plan
from adf.testing.fake_server import FakeReply, Request, last_user, tool_reply

# std functions that take one text and give text, as (entry, argument name)
POOL = (("std.parse.strip", "text"), ("std.parse.first_line", "text"),
        ("std.parse.after_marker", "text"), ("std.tools.calculator", "expression"),
        ("std.tools.final_answer", "answer"))


@st.composite
def tool_programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 2))
    lines, system = header(draw, n_params)
    n_tools = draw(st.integers(2, 4))
    for k in range(n_tools):
        ref, arg = draw(st.sampled_from(POOL))
        lines.append(f"fn t{k}({arg}: str) -> str = {ref}")

    def tool_list(owner: str) -> tuple[str, str]:
        offered = draw(st.lists(st.integers(0, n_tools - 1), min_size=1, max_size=n_tools,
                                unique=True))
        parts = []
        for k in offered:
            how = draw(st.sampled_from(["none", "text", "param", "frozen"]))
            if how == "text":
                parts.append(f't{k}: "Tool {k} for {owner}."')
            elif how in ("param", "frozen"):
                name = f"d_{owner}_{k}"
                frozen = " frozen" if how == "frozen" else ""
                lines.append(f'param {name}: prompt{frozen} = "Use t{k} for {owner}."')
                parts.append(f"t{k}: {name}")
            else:
                parts.append(f"t{k}")
        finish = draw(st.lists(st.sampled_from(offered), max_size=len(offered), unique=True))
        tools = f"tools: [{', '.join(parts)}]"
        return tools, f" finish: [{', '.join(f't{k}' for k in finish)}]" if finish else ""

    tools, finish = tool_list("act")
    lines.append(f'llm act(a: str, b: str) -> tool_call using m {{ system: [{system()}] '
                 f'user: "{{a}} {{b}} @act" {tools}{finish} }}')
    second = draw(st.booleans())
    if second:
        tools, finish = tool_list("other")
        lines.append(f'llm other(a: str) -> tool_call using m {{ system: [{system()}] '
                     f'user: "{{a}} @other" {tools}{finish} }}')
    if draw(st.booleans()):
        lines.append(f"const steps = {draw(st.integers(1, 4))}")
        lines.append('state notes: str = ""')
        lines.append("loop step in 0..steps until done {")
        lines.append("  node call = act(question, notes)")
        lines.append('  notes = notes + " " + call.tool + " " + call.result')
        lines.append("  node done = call.done")
        lines.append("}")
        seen = draw(st.sampled_from(["notes", "call.result"]))
    else:
        lines.append('node call = act(question, "start")')
        seen = "call.result"
    if second:
        lines.append(f"node pred = if call.done then call.result else other({seen}).result")
    else:
        lines.append(f"node pred = {seen}")
    lines.append("loss acc = std.loss.exact_match(pred, answer)")
    lines.append("output pred")
    return "\n".join(lines) + "\n"


def choose(request: Request) -> FakeReply:
    """The fake model's call: a tool by the prompt's hash, or (one time in five) none."""
    offered = request.get("tools") or []
    number = tag(last_user(request))
    if number % 5 == 4:
        return FakeReply("I would rather not call anything.")
    function = offered[number % len(offered)]["function"]
    (argument,) = function["parameters"]["properties"]
    return tool_reply(function["name"], **{argument: f"6 * {number % 7}"})


respond = responder(choose)  # type: ignore[arg-type]

SAMPLES = questions(3)
MANY = settings(PROPERTY, max_examples=max(EXAMPLES, 500))


def reached(workflow: Plan, path: list[str]) -> set[str]:
    """The trainable params of the llm steps on `path`: their prompts' and their tools'
    descriptions."""
    frozen = {p.name for p in workflow.params if p.frozen}
    out: set[str] = set()
    for node_id in path:
        llm = workflow.node(node_id).llm
        if llm is not None:
            out |= {p.param for p in llm.parts if p.kind == "param" and p.param not in frozen}
    return out


@MANY
@given(tool_programs())
def test_tool_choices_finish_and_feedback_reach_exactly_the_offered_parameters(
    source: str,
) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond, keep_requests=True, direct=True)
    result, grads = done.result, done.grads
    by_id = {n.id: n for n in workflow.nodes}
    ran = 0
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        traces = {t.node: t for t in sample.nodes}
        stopped = False
        for node in workflow.nodes:
            trace = traces[node.id]
            if node.llm is not None and trace.status == "ok":
                ran += 1
                tools = {t.name: t for t in node.llm.tools}
                record = trace.value
                if record["tool"]:  # a call of an offered tool
                    assert record["tool"] in tools
                    assert record["done"] == tools[record["tool"]].finish
                else:  # no call: an observation, never the end
                    assert record["done"] is False and record["result"].startswith("error:")
                if node.name == "call" and node.step is not None:
                    assert not stopped, "a step after a finish tool ran"
                    stopped = record["done"]
            elif node.name == "call" and node.step is not None:
                assert trace.status == "untaken" and stopped
        path = executed_path(workflow, sample, workflow.losses[0].pred)
        expected = reached(workflow, path)
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected
        assert {f.node for f in mine} <= set(path)
        # a description offered only by llm steps that did not run gets nothing
        never = {p.param for n in workflow.nodes if n.llm is not None and n.id not in path
                 for t in n.llm.tools for p in t.description if p.kind == "param"}
        assert not ({f.param for f in mine} & (never - expected))
        for f in mine:  # feedback on a description comes from a step that offered that tool
            node = by_id[f.node]
            assert node.llm is not None and f.param in {
                p.param for p in node.llm.parts if p.kind == "param"}
    assert done.forward_requests == ran
    assert grads.failures == ()
    reviews = [t for t in done.backward_texts if "[tools offered]" in t]
    assert all("It called " in t for t in reviews)


@PROPERTY
@given(tool_programs())
def test_tool_feedback_keeps_time_order(source: str) -> None:
    workflow = compiled(source)
    grads = run_both(workflow, SAMPLES, respond).grads
    for mine in in_plan_order(workflow, grads, SAMPLES):
        steps = [f.step for f in mine if f.step is not None]
        assert steps == sorted(steps)


def test_the_generated_tool_sets_compile_and_offer_what_they_declare() -> None:
    """One fixed draw, read back: the plan offers the declared tools in order, with
    their argument names as the JSON schema's properties."""
    workflow = compiled(
        'model m = "openai/fake"\ninput question: str\ntarget answer: str\n'
        'param d_act_1: prompt = "Use t1."\n'
        "fn t0(text: str) -> str = std.parse.strip\n"
        "fn t1(answer: str) -> str = std.tools.final_answer\n"
        'llm act(a: str, b: str) -> tool_call using m { user: "{a} {b} @act" '
        "tools: [t0, t1: d_act_1] finish: [t1] }\n"
        'node call = act(question, "start")\nnode pred = call.result\n'
        "loss acc = std.loss.exact_match(pred, answer)\noutput pred\n")
    act = next(n for n in workflow.nodes if n.llm is not None)
    assert [(t.name, t.params[0][0], t.finish) for t in act.llm.tools] == [  # type: ignore[union-attr]
        ("t0", "text", False), ("t1", "answer", True)]
    reply = choose({"messages": [{"role": "user", "content": "q"}],
                    "tools": [{"function": {"name": "t1", "parameters": {
                        "properties": {"answer": {"type": "string"}}}}}]})
    assert reply.tool_calls == (("t1", json.dumps({"answer": f"6 * {tag('q') % 7}"})),) or (
        tag("q") % 5 == 4 and not reply.tool_calls)
