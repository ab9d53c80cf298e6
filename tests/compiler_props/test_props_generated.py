"""Properties of compiling generated well-formed programs (see `props_programs`).

Every generated program compiles without errors; compiling is deterministic
(byte-identical plans, also from another directory); the plan round-trips
through the codec; the unrolled node count is the nodes outside loops plus
each loop's body times its bound; every source edge appears between the
right time-stepped copies (state flows from step t to t+1); and `plan.nodes`
is a topological order.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from props_programs import GenProgram, programs

from adf.compiler.pipeline import compile_source
from adf.plan.codec import decode_plan, encode_plan
from adf.plan.schema import Plan

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compile(prog: GenProgram, name: str = "gen.adf") -> Plan:
    result = compile_source(prog.source, name, base_dir=os.getcwd())
    errors = [f"{d.code} {d.primary.span}: {d.message}" for d in result.diagnostics if d.is_error]
    assert not errors, "\n".join(errors) + "\n" + prog.source
    assert result.plan is not None
    return result.plan


@SETTINGS
@given(programs())
def test_compiles_clean_and_deterministic(prog: GenProgram) -> None:
    plan = _compile(prog)
    data = encode_plan(plan)
    assert encode_plan(_compile(prog)) == data
    assert encode_plan(_compile(prog, os.path.join("some", "other", "dir", "gen.adf"))) == data
    other = _compile(prog, "renamed.adf")
    assert other.source_name == "renamed.adf"
    assert encode_plan(other) != data
    assert {p.name: (p.frozen, p.description, p.value) for p in plan.params} == prog.params
    decoded = decode_plan(data)
    assert decoded == plan
    assert encode_plan(decoded) == data


@SETTINGS
@given(programs())
def test_unrolled_node_count(prog: GenProgram) -> None:
    plan = _compile(prog)
    total = prog.outside + sum(prog.per_step[name] * bound for name, bound in prog.bounds.items())
    assert len(plan.nodes) == total
    assert {loop.name: loop.bound for loop in plan.loops} == prog.bounds
    for loop in plan.loops:
        assert len(loop.body) == prog.per_step[loop.name]
        copies = [n for n in plan.nodes if n.loop == loop.name]
        assert len(copies) == loop.bound * prog.per_step[loop.name]
    outside = [n for n in plan.nodes if n.loop is None]
    assert len(outside) == prog.outside


@SETTINGS
@given(programs())
def test_unroll_preserves_edges(prog: GenProgram) -> None:
    plan = _compile(prog)
    actual = {n.id: (n.kind, tuple((b.name, b.source) for b in n.inputs)) for n in plan.nodes}
    assert actual == prog.expected, prog.source
    for node in plan.nodes:
        if node.step is None:
            assert "@" not in node.id
        else:
            assert node.id.endswith(f"@{node.step}") and node.loop is not None
    for loop, state, start, end in prog.carried:
        assert plan.node(f"{state}@{start}").inputs[0].source == state
        for t in range(start + 1, end):
            assert plan.node(f"{state}@{t}").inputs[0].source == f"{state}@{t - 1}", loop
    assert [o.source for o in plan.outputs] == [prog.output_id]
    assert plan.losses[0].pred == plan.outputs[0].source and plan.losses[0].target == "t"


@SETTINGS
@given(programs())
def test_nodes_in_topological_order(prog: GenProgram) -> None:
    plan = _compile(prog)
    known = {d.name for d in plan.inputs} | {d.name for d in plan.targets}
    for node in plan.nodes:
        for binding in node.inputs:
            assert binding.source in known, (node.id, binding.source)
        assert node.id not in known
        known.add(node.id)
    for loss in plan.losses:
        assert loss.pred in known and loss.target in known

