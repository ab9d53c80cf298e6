"""Conditions (comparisons and `and`/`or`/`not`) over generated programs on the fake server.

Properties: the condition's value is what Python computes from its operands'
values, only the branch it takes runs, and feedback reaches exactly the
trainable parameters on the executed path: the taken branch and every input
of the condition (through the comparison, which says what it made of them),
never the untaken branch. `ADF_V2_EXAMPLES` sets how many programs each
property draws; with `ADF_V2_EXAMPLES=500 ADF_V2_TRANSPORT=direct` both passed
on 500 generated programs each.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, compiled, header, questions, run_both, tag
from rt_helpers import responder
from rt_paths import executed_path, trainable

from adf.testing.fake_server import Request, last_user

_STEP = re.compile(r"^# The step: (\S+)", re.M)
_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    """A `bool` expression over `score(...)` (an int 0-4), `check(...)` and literals."""
    kind = draw(st.sampled_from(["compare", "bool", "not", "and", "or"] if depth < 2
                                else ["compare", "bool"]))
    arg = draw(st.sampled_from(["question", "question + \"!\""]))
    if kind == "compare":
        op = draw(st.sampled_from(sorted(_OPS)))
        return f"score({arg}) {op} {draw(st.integers(0, 4))}"
    if kind == "bool":
        return f"check({arg})"
    if kind == "not":
        return f"not ({draw(conditions(depth + 1))})"
    return f"({draw(conditions(depth + 1))}) {kind} ({draw(conditions(depth + 1))})"


@st.composite
def programs(draw: st.DrawFn) -> str:
    n_params = draw(st.integers(1, 3))
    lines, system = header(draw, n_params)

    lines.append(f'llm score(a: str) -> int using m {{ system: [{system()}] user: "{{a}} (int)" }}')
    lines.append(f'llm check(a: str) -> bool using m {{ system: [{system()}] user: "{{a}} (bool)" }}')
    lines.append(f'llm yes(a: str) -> str using m {{ system: [{system()}] user: "{{a}} @yes" }}')
    lines.append(f'llm no(a: str) -> str using m {{ system: [{system()}] user: "{{a}} @no" }}')
    lines.append(f"node pred = if {draw(conditions())} then yes(question) else no(question)")
    lines.append("loss acc = std.loss.exact_match(pred, answer)")
    lines.append("output pred")
    return "\n".join(lines) + "\n"


def forward_reply(request: Request) -> str:
    text = last_user(request)
    if text.endswith("(int)"):
        return str(tag(text) % 5)
    if text.endswith("(bool)"):
        return "true" if tag(text) % 2 else "false"
    return f"out-{tag(text):x}"


respond = responder(forward_reply)
SAMPLES = questions(3)
_PYTHON = {"std.op.and": lambda a, b: a and b, "std.op.or": lambda a, b: a or b,
           "std.op.not": operator.not_, "std.op.eq": operator.eq, "std.op.ne": operator.ne,
           "std.op.lt": operator.lt, "std.op.le": operator.le, "std.op.gt": operator.gt,
           "std.op.ge": operator.ge}


@PROPERTY
@given(programs())
def test_conditions_route_and_feedback_reaches_their_inputs(source: str) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES, respond)
    result, grads = done.result, done.grads
    for sample in result.samples:
        assert sample.error is None and sample.score == 0.0
        values: dict[str, Any] = {t.node: t.value for t in sample.nodes}
        status = {t.node: t.status for t in sample.nodes}
        for node in workflow.nodes:  # every operator computes what Python does
            if node.fn is not None and node.fn.ref in _PYTHON:
                args = [values[b.source] for b in node.inputs]
                assert values[node.id] == _PYTHON[node.fn.ref](*args), node.id
        taken = "pred.1" if values["pred.0"] else "pred.2"
        untaken = "pred.2" if taken == "pred.1" else "pred.1"
        assert (status[taken], status[untaken]) == ("ok", "untaken")
        path = executed_path(workflow, sample, "pred")
        expected = {p for node_id in path for p in trainable(workflow, node_id)}
        mine = [f for f in grads.feedback if f.sample == sample.sample.id]
        assert {f.param for f in mine} == expected
        assert untaken not in {f.node for f in mine}
        assert {f.node for f in mine} <= set(path)
    assert grads.failures == ()


@PROPERTY
@given(programs())
def test_condition_feedback_says_what_the_condition_was(source: str) -> None:
    workflow = compiled(source)
    done = run_both(workflow, SAMPLES[:1], respond, keep_requests=True)
    operands = {b.source for n in workflow.nodes if n.fn is not None and n.fn.ref in _PYTHON
                for b in n.inputs}  # values an operator reads (a bare `if check(q)` has none)
    deciders = {n.id for n in workflow.nodes if n.llm is not None and n.id in operands}
    reviewed = [t for t in done.backward_texts if _STEP.search(t) and _STEP.search(t).group(1) in deciders]
    assert all(re.search(r"the condition `[^`]+`, which was (true|false)", t) for t in reviewed)
    learned = deciders & {f.node for f in done.grads.feedback}
    assert bool(learned) <= bool(reviewed)  # a decider that learned was reviewed with the note
