"""Checks of tool-calling llms: each mistake gives its one code."""

from __future__ import annotations

import pytest

from adf.compiler.pipeline import compile_source

HEAD = """model m = "local"
input question: str
param doc: prompt = "Evaluate arithmetic."
param shots: demos = []
fn calculator(expression: str) -> str = std.tools.calculator
fn final_answer(answer: str) -> str = std.tools.final_answer
"""
TAIL = "node call = act(question)\noutput call\n"


def codes(llm: str) -> list[str]:
    result = compile_source(HEAD + llm + TAIL, "t.adf", plan=False)
    return [d.code for d in result.diagnostics if d.is_error]


@pytest.mark.parametrize(("llm", "expected"), [
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator: doc, final_answer] finish: [final_answer] }', []),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculatr] }', ["E0102"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [doc] }', ["E0250"]),
    ('llm act(question: str) -> str using m { user: "{question}" tools: [calculator] }', ["E0251"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" }', ["E0251"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator, calculator] }', ["E0252"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator] finish: [final_answer] }', ["E0252"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator: shots] }', ["E0106"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator: nodoc] }', ["E0102"]),
    ('llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator] tools: [final_answer] }', ["E0108"]),
])
def test_tool_codes(llm: str, expected: list[str]) -> None:
    assert codes(llm) == expected


def test_a_tool_only_fn_is_not_reported_unused_and_its_description_param_is_used() -> None:
    from adf.analysis.config import LintConfig
    from adf.analysis.lint import run_lints

    source = HEAD.replace('param shots: demos = []\n', "") + (
        'llm act(question: str) -> tool_call using m { user: "{question}" tools: [calculator: doc, final_answer] }\n'
    ) + TAIL
    result = compile_source(source, "t.adf")
    assert result.plan is not None
    found = {d.code for d in run_lints(result.plan, "t.adf", LintConfig())}
    assert "W0509" not in found and "W0507" not in found
