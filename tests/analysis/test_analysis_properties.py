"""Property tests: on generated unrolled graphs, the linear-time reachability
sweeps agree with a brute-force path search, and live values match a naive search."""

from __future__ import annotations

from analysis_plans import PlanBuilder
from hypothesis import given, settings
from hypothesis import strategies as st

from adf.analysis.config import LintConfig
from adf.analysis.deadcode import live_values
from adf.analysis.graphview import build_view
from adf.analysis.lint import lint_plan
from adf.analysis.reachability import compute_reachability
from adf.compiler.codes import all_codes
from adf.compiler.pipeline import compile_source
from adf.plan.schema import Plan


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    b = PlanBuilder().model("m")
    n_params = draw(st.integers(0, 4))
    for i in range(n_params):
        b.param(f"p{i}", frozen=draw(st.booleans()))
    b.input("x").target("y")
    values = ["x", "y"]
    for i in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["llm", "llm", "fn", "const"]))
        if kind == "const":
            b.const(f"n{i}", "1", "int")
        else:
            arity = draw(st.integers(1, 3))
            sources = draw(st.lists(st.sampled_from(values), min_size=arity, max_size=arity))
            args = {f"a{j}": s for j, s in enumerate(sources)}
            if kind == "llm":
                chosen = draw(st.lists(st.integers(0, max(n_params - 1, 0)), max_size=2)) if n_params else []
                b.llm(f"n{i}", f"f{i}", args, params=tuple(dict.fromkeys(f"p{c}" for c in chosen)))
            else:
                b.fn(f"n{i}", f"g{i}", args)
        values.append(f"n{i}")
    for i in range(draw(st.integers(0, 3))):
        b.loss(f"l{i}", draw(st.sampled_from(values)), draw(st.sampled_from(values)))
    for i in range(draw(st.integers(0, 2))):
        b.output(f"o{i}", draw(st.sampled_from(values)))
    return b.build()


def reaches(plan: Plan, start: str, goals: set[str]) -> bool:
    """Naive depth-first search forward along bindings."""
    readers: dict[str, list[str]] = {}
    for node in plan.nodes:
        for binding in node.inputs:
            readers.setdefault(binding.source, []).append(node.id)
    stack, seen = [start], set()
    while stack:
        here = stack.pop()
        if here in goals:
            return True
        if here in seen:
            continue
        seen.add(here)
        stack.extend(readers.get(here, ()))
    return False


def users(plan: Plan, param: str) -> list[str]:
    return [n.id for n in plan.nodes if n.llm is not None
            and any(p.kind == "param" and p.param == param for p in n.llm.user + n.llm.system)]


def check_reachability_oracle(plan: Plan) -> None:
    reach = compute_reachability(build_view(plan))
    preds = {loss.pred for loss in plan.losses}
    trainable = [p.name for p in plan.params if not p.frozen]
    learning = {p for p in trainable if any(reaches(plan, u, preds) for u in users(plan, p))}
    assert reach.learning == learning
    for loss in plan.losses:
        reached = any(reaches(plan, u, {loss.pred}) for p in trainable for u in users(plan, p))
        assert (loss.name in reach.reached_losses) == reached, loss
    sources = [u for p in trainable for u in users(plan, p)]
    for node in plan.nodes:
        on_path = any(reaches(plan, s, {node.id}) for s in sources) and reaches(plan, node.id, preds)
        assert (node.id in reach.gradient_nodes) == on_path, node.id


def check_live_oracle(plan: Plan) -> None:
    goals = {o.source for o in plan.outputs} | {x for loss in plan.losses for x in (loss.pred, loss.target)}
    live = live_values(build_view(plan))
    for value in [*(d.name for d in (*plan.inputs, *plan.targets)), *(n.id for n in plan.nodes)]:
        assert (value in live) == reaches(plan, value, goals), value


@settings(max_examples=150, deadline=None)
@given(plans())
def test_reachability_matches_brute_force(plan: Plan) -> None:
    check_reachability_oracle(plan)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_live_values_match_brute_force(plan: Plan) -> None:
    check_live_oracle(plan)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A random well-formed `.adf` program: llm and fn calls, an optional loop with state."""
    lines = ['model m = "local"', "input q: str", "target a: str",
             "fn s(text: str) -> str = std.parse.strip",
             "fn push(items: list[str], item: str) -> list[str] = std.op.append",
             "fn j(items: list[str]) -> str = std.text.join"]
    n_params = draw(st.integers(1, 4))
    for i in range(n_params):
        lines.append(f'param p{i}: prompt {"frozen " if draw(st.booleans()) else ""}= "text {i}"')
    n_funcs = draw(st.integers(1, 3))
    for i in range(n_funcs):
        used = draw(st.lists(st.integers(0, n_params - 1), unique=True, max_size=2))
        system = f"system: [{', '.join(f'p{k}' for k in used)}]" if used else ""
        lines.append(f'llm f{i}(x: str) -> str using m {{ {system} user: "{{x}}" }}')
    values = ["q"]

    def call(pool: list[str]) -> str:
        arg = draw(st.sampled_from(pool))
        if draw(st.booleans()):
            return f"s({arg})"
        return f"f{draw(st.integers(0, n_funcs - 1))}({arg})"

    for i in range(draw(st.integers(1, 6))):
        lines.append(f"node n{i} = {call(values)}")
        values.append(f"n{i}")
    if draw(st.booleans()):
        lines.append("state notes: list[str] = []")
        lines.append(f"loop hop in 0..{draw(st.integers(1, 3))} {{")
        lines.append(f"  node b = {call([*values, 'j(notes)'])}")
        lines.append("  notes = push(notes, b)")
        lines.append("}")
        lines.append("node after = j(notes)")
        values.append("after")
    for i in range(draw(st.integers(0, 2))):
        lines.append(f"loss l{i} = std.loss.contains({draw(st.sampled_from(values))}, a)")
    if draw(st.booleans()):
        lines.append(f"output {draw(st.sampled_from(values))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None)
@given(programs())
def test_reachability_matches_brute_force_on_compiled_programs(source: str) -> None:
    result = compile_source(source, "gen.adf")
    assert result.plan is not None, (source, result.diagnostics)
    assert any(n.loop for n in result.plan.nodes) == ("loop hop" in source)
    check_reachability_oracle(result.plan)
    check_live_oracle(result.plan)
    found = lint_plan(result.plan, "gen.adf", source, LintConfig(), result.diagnostics)
    assert {d.code for d in found} <= set(all_codes())
    assert all(d.file == "gen.adf" and d.primary.span.line >= 1 for d in found)
