"""`adfc check`'s memory grows by a bounded amount per declaration and per literal byte.

What `adfc check` holds for a large file: the AST, the declared names, the plan,
the lints' diagnostics and, for `--format json` and `sarif`, their records,
written one at a time. Measured with tracemalloc (allocations, not timing, so
the bound does not depend on the machine's load) after a warm-up that imports
every module the path uses. bench/check_memory.py measures the process's peak
on 100,000 declarations; docs/reliability.md explains the figures.
"""

from __future__ import annotations

import tracemalloc

import pytest

from adf.analysis.config import LintConfig
from adf.analysis.lint import lint_plan
from adf.analysis.sarif import sarif_chunks
from adf.compiler.pipeline import compile_source
from adf.compiler.render import json_chunks

HEAD = """model m = "local"
input question: str
target answer: str
param instruction: prompt = "{value}"
llm ask(question: str) -> str using m {{ system: [instruction] user: "{{question}}" }}
node pred = ask(question)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""

# About 780 bytes per `param` line on CPython 3.11 (see docs/reliability.md); the bound
# leaves room for other versions' object sizes, and fails on a return of the copies
# this replaced (the whole JSON or SARIF text at once: 3,600 and 8,500 bytes).
PER_DECLARATION = 1_000


class _Measured:
    def __init__(self, peak: int, held: int, diagnostics: int) -> None:
        self.peak = peak  # the most allocated at once
        self.held = held  # allocated while the compiled plan is held, before the lints
        self.diagnostics = diagnostics


def _check(text: str, output: str) -> _Measured:
    """Check `text` and write its diagnostics as `output` (json or sarif), measured."""
    tracemalloc.start()
    try:
        result = compile_source(text, "many.adf")
        assert result.plan is not None
        held = tracemalloc.get_traced_memory()[0]
        found = lint_plan(result.plan, "many.adf", text, LintConfig(), result.diagnostics)
        del result  # as `adfc check` does: the plan is freed before the records are written
        chunks = json_chunks(found) if output == "json" else sarif_chunks(found, {"many.adf": text})
        for _ in chunks:
            pass
        return _Measured(tracemalloc.get_traced_memory()[1], held, len(found))
    finally:
        tracemalloc.stop()


def _params(count: int) -> str:
    return HEAD.format(value="Answer.") + "".join(
        f'param p{i}: prompt = "value {i}"\n' for i in range(count))


@pytest.mark.parametrize("output", ["json", "sarif"])
def test_memory_per_declaration_is_bounded(output: str) -> None:
    _check(_params(1), output)  # imports everything on the path
    small, large = _check(_params(500), output), _check(_params(1_500), output)
    assert (small.diagnostics, large.diagnostics) == (500, 1_500)  # a W0507 per unused param
    # the growth from 500 to 1,500 declarations: what each one costs, without the
    # fixed part (the SARIF rules, the modules' caches)
    assert large.peak - small.peak < PER_DECLARATION * 1_000


def test_a_large_literal_is_held_once() -> None:
    _check(_params(1), "json")
    text = HEAD.format(value="x" * 1_000_000)
    measured = _check(text, "json")
    # the decoded value is the literal's text between its quotes, shared by the AST and
    # the plan (the text as written was a second copy); the source text is the caller's
    assert measured.held < 1.2 * len(text)
    # parsing: the token, its body and the value (the body itself)
    assert measured.peak < 3.5 * len(text)
