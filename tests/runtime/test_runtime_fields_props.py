"""Gradient routing through record fields and objectives, over generated programs.

Programs are generated as `.adf` source and compiled by the real compiler,
then run forward and backward on the fake server through the real litellm
path. `ADF_V2_EXAMPLES` sets how many programs each property draws (a few
dozen by default; the language-v2 bar of 500 is run with
`ADF_V2_EXAMPLES=500`).
Run with `ADF_V2_EXAMPLES=500 ADF_V2_TRANSPORT=direct`, every property here
passed on 500 generated programs (one to two minutes each on the shared
two-core machine).
"""

from __future__ import annotations

import hashlib
import json

import attrs
from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, compiled, questions, run_both
from rt_helpers import responder
from rt_paths import executed_path, trainable

from adf.testing.fake_server import Request, last_user

RECORD = "{f0: str, f1: str}"


@attrs.frozen
class Program:
    source: str
    pred: str  # the name the loss reads


@st.composite
def field_programs(draw: st.DrawFn) -> Program:
    """Nodes that call llms returning `str` or a record, read fields of records
    (`n2.f1`, `call(...).f0`), and one loss on a `str` value."""
    n_params = draw(st.integers(1, 4))
    lines = ['model m = "openai/fake"', "input question: str", "target answer: str"]
    for i in range(n_params):
        frozen = " frozen" if draw(st.booleans()) else ""
        lines.append(f'param p{i}: prompt{frozen} = "Prompt {i}."')
    n_funcs = draw(st.integers(1, 3))
    returns: list[str] = []
    for j in range(n_funcs):
        ret = draw(st.sampled_from(["str", RECORD]))
        returns.append(ret)
        used = draw(st.lists(st.integers(0, n_params - 1), max_size=2, unique=True))
        system = ", ".join(f"p{u}" for u in used)
        mark = " (record)" if ret == RECORD else ""
        lines.append(f'llm f{j}(a: str) -> {ret} using m {{ system: [{system}] user: "{{a}} @f{j}{mark}" }}')
    text_values = ["question"]  # names holding `str`
    records: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        choice = draw(st.sampled_from(["call", "call", "field"] if records else ["call"]))
        if choice == "field":
            lines.append(f"node n{i} = {draw(st.sampled_from(records))}.{draw(st.sampled_from(['f0', 'f1']))}")
            text_values.append(f"n{i}")
            continue
        j = draw(st.integers(0, n_funcs - 1))
        if records and draw(st.booleans()):
            arg = f"{draw(st.sampled_from(records))}.{draw(st.sampled_from(['f0', 'f1']))}"
        else:
            arg = draw(st.sampled_from(text_values))
        if returns[j] == RECORD and draw(st.booleans()):  # a field of the call itself
            lines.append(f"node n{i} = f{j}({arg}).{draw(st.sampled_from(['f0', 'f1']))}")
            text_values.append(f"n{i}")
        else:
            lines.append(f"node n{i} = f{j}({arg})")
            (records if returns[j] == RECORD else text_values).append(f"n{i}")
    pred = draw(st.sampled_from(text_values[1:] or ["question"]))
    if pred == "question":
        lines.append("node n_last = f0(question)" + (".f0" if returns[0] == RECORD else ""))
        pred = "n_last"
    lines.append(f"loss acc = std.loss.exact_match({pred}, answer)")
    if draw(st.booleans()):
        lines.append("loss near = std.loss.f1(" + pred + ", answer)")
        lines.append("loss total = 0.5 * acc + 0.5 * near")
    return Program("\n".join(lines) + "\n", pred)


def forward_reply(request: Request) -> str:
    tag = hashlib.sha256(last_user(request).encode()).hexdigest()[:8]
    if last_user(request).endswith("(record)"):
        return json.dumps({"f0": f"zero-{tag}", "f1": f"one-{tag}"})
    return f"out-{tag}"


respond = responder(forward_reply)


SAMPLES = questions(2)


@PROPERTY
@given(field_programs())
def test_field_feedback_reaches_the_record_producer_naming_the_field(program: Program) -> None:
    workflow = compiled(program.source)
    done = run_both(workflow, SAMPLES, respond, keep_requests=True)
    result, grads, requests = done.result, done.grads, done.backward_texts
    assert all(s.error is None for s in result.samples)
    assert all(s.score == 0.0 for s in result.samples)
    upstream = [workflow.node(i) for i in executed_path(workflow, result.samples[0], workflow.losses[0].pred)]
    expected = {p for node in upstream for p in trainable(workflow, node.id)}
    for sample in SAMPLES:
        assert {f.param for f in grads.feedback if f.sample == sample.id} == expected
    assert {f.node for f in grads.feedback} <= {n.id for n in upstream}
    frozen = {p.name for p in workflow.params if p.frozen}
    assert not {f.param for f in grads.feedback} & frozen
    # every backward review of an llm whose record reached the loss only through a
    # field node is told which field the feedback is about
    fields = {n.inputs[0].source: n.field for n in upstream if n.kind == "field"}
    for text in requests:
        step = text.split("# The step: ", 1)[1].split()[0]
        if step in fields and workflow.node(step).output_type.kind == "record":
            assert "About the field `" in text
    assert grads.failures == ()


@PROPERTY
@given(field_programs())
def test_objective_scores_are_the_weighted_sum_and_components_count_through_it(
    program: Program,
) -> None:
    workflow = compiled(program.source)
    result = run_both(workflow, SAMPLES, respond).result
    for sample in result.samples:
        losses = {loss.name: loss for loss in sample.losses}
        if workflow.objectives:
            total = losses["total"]
            assert total.score == 0.5 * losses["acc"].score + 0.5 * losses["near"].score
            assert losses["acc"].part_of == ("total",) and losses["near"].part_of == ("total",)
            assert sample.score == total.score
        else:
            assert sample.score == losses["acc"].score
