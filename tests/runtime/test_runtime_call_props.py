"""Gradient routing through calls of a used file's whole workflow, over generated programs.

A generated used file `lib.adf` (llms over its own params, some frozen, a chain of nodes,
some of them `if` branches) is called whole one to three times from a generated main
file (`node cK = lib(ARGS)`), whose own llms have params too. Both are compiled by the
real compiler, then run forward and backward on the fake server (see rt_direct for the
transport and `ADF_V2_EXAMPLES`). Feedback must reach exactly the trainable params of
the llm nodes on the path the sample took, across the calls: the used file's params,
one `lib.pI` shared by every call, through the nodes each call was unrolled into.
"""

from __future__ import annotations

import os
import tempfile

import attrs
from hypothesis import given
from hypothesis import strategies as st
from rt_direct import PROPERTY, questions, run_both
from rt_helpers import hashed_reply, responder
from rt_paths import executed_path, in_plan_order, trainable

from adf.compiler.pipeline import compile_file
from adf.plan.schema import Plan


@attrs.frozen
class Program:
    main: str
    lib: str
    calls: tuple[str, ...]  # the names of the main file's workflow-call nodes


def _params(draw: st.DrawFn, lines: list[str], n: int) -> None:
    for i in range(n):
        frozen = " frozen" if draw(st.integers(0, 2)) == 0 else ""
        lines.append(f'param p{i}: prompt{frozen} = "Prompt {i}."')


def _llms(draw: st.DrawFn, lines: list[str], n_params: int, n: int, mark: str) -> None:
    for j in range(n):
        used = draw(st.lists(st.integers(0, n_params - 1), min_size=1, max_size=2, unique=True))
        system = ", ".join(f"p{u}" for u in used)
        lines.append(f'llm f{j}(a: str) -> str using m {{ system: [{system}] user: "{{a}} @{mark}{j}" }}')


@st.composite
def call_programs(draw: st.DrawFn) -> Program:
    lib = ['model m = "openai/fake"', "input q: str", "input extra: str"]
    n_params = draw(st.integers(1, 3))
    _params(draw, lib, n_params)
    n_funcs = draw(st.integers(1, 3))
    _llms(draw, lib, n_params, n_funcs, "lib")
    values = ["q", "extra"]
    for i in range(draw(st.integers(1, 4))):
        pick = st.sampled_from(values)
        call = f"f{draw(st.integers(0, n_funcs - 1))}({draw(pick)})"
        if draw(st.integers(0, 3)) == 0:  # a branch: the generated replies never equal "x"
            other = f"f{draw(st.integers(0, n_funcs - 1))}({draw(pick)})"
            lib.append(f'node n{i} = if {draw(pick)} == "x" then {other} else {call}')
        else:
            lib.append(f"node n{i} = {call}")
        values.append(f"n{i}")
    lib.append(f"output {draw(st.sampled_from(values[2:]))}")

    main = ['use "lib.adf" as lib', 'model m = "openai/fake"', "input question: str",
            "target answer: str"]
    _params(draw, main, 2)
    _llms(draw, main, 2, 1, "main")
    values = ["question"]
    calls: list[str] = []
    for k in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):  # one of this file's own llms between the calls
            main.append(f"node own{k} = f0({draw(st.sampled_from(values))})")
            values.append(f"own{k}")
        q, extra = draw(st.sampled_from(values)), draw(st.sampled_from(values))
        args = f"{q}, {extra}" if draw(st.booleans()) else f"extra: {extra}, q: {q}"
        main.append(f"node c{k} = lib({args})")
        values.append(f"c{k}")
        calls.append(f"c{k}")
    pred = values[-1] if draw(st.booleans()) else draw(st.sampled_from(values[1:]))
    main.append(f"loss acc = std.loss.exact_match({pred}, answer)")
    return Program("\n".join(main) + "\n", "\n".join(lib) + "\n", tuple(calls))




respond = responder(hashed_reply)
SAMPLES = questions(2)


def compiled(program: Program) -> Plan:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in (("main.adf", program.main), ("lib.adf", program.lib)):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        result = compile_file(os.path.join(folder, "main.adf"))
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return result.plan


@PROPERTY
@given(call_programs())
def test_feedback_reaches_the_used_files_params_through_each_call(program: Program) -> None:
    workflow = compiled(program)
    # every unrolled node of a call is named after it and says so; the used file's
    # params come once, however many calls there are
    for node in workflow.nodes:
        head = node.name.split(".", 1)[0]
        assert node.call == (head if head in program.calls else None)
    names = [p.name for p in workflow.params]
    assert len(names) == len(set(names))
    assert all(n in ("p0", "p1") or n.startswith("lib.p") for n in names)
    done = run_both(workflow, SAMPLES, respond)
    result, grads = done.result, done.grads
    assert all(s.error is None and s.score == 0.0 for s in result.samples)
    upstream = executed_path(workflow, result.samples[0], workflow.losses[0].pred)
    expected = {p for node in upstream for p in trainable(workflow, node)}
    for sample in SAMPLES:
        assert {f.param for f in grads.feedback if f.sample == sample.id} == expected
    assert {f.node for f in grads.feedback} <= set(upstream)
    untaken = {n.id for n in workflow.nodes} - set(upstream)
    assert not {f.node for f in grads.feedback} & untaken
    in_plan_order(workflow, grads, SAMPLES)
    assert grads.failures == ()
