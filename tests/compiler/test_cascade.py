"""No cascades: one mistake gives one or two errors, not a page of them.

Every example is mutated one token at a time: each token is deleted, and
replaced by one of a few tokens chosen in turn (a name, `,`, `}`, `)`, `=`,
a string, `node`). Of the mutants that do not compile, at least 95% must
give at most two errors.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

from adf.compiler.pipeline import compile_source
from adf.syntax.lexer import tokens as _tokens

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*/*.adf"))
REPLACEMENTS = ("x", ",", "}", ")", "=", '"s"', "node")


def _mutants(text: str) -> Iterator[str]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    tokens = [t for t in _tokens(text, 0, 1) if t.type != "$END"]
    for index, tok in enumerate(tokens):
        a = starts[tok.line - 1] + tok.col - 1
        b = starts[tok.end_line - 1] + tok.end_col - 1
        yield text[:a] + text[b:]
        replacement = REPLACEMENTS[index % len(REPLACEMENTS)]
        if replacement != tok.value:
            yield text[:a] + replacement + text[b:]


def test_single_token_mutants_do_not_cascade() -> None:
    assert EXAMPLES
    erroneous = cascading = 0
    worst: list[tuple[int, str]] = []
    for path in EXAMPLES:
        for mutant in _mutants(path.read_text(encoding="utf-8")):
            errors = [d for d in compile_source(mutant, str(path)).diagnostics if d.is_error]
            if not errors:
                continue
            erroneous += 1
            if len(errors) > 2:
                cascading += 1
                worst.append((len(errors), ", ".join(sorted({d.code for d in errors}))))
    assert erroneous >= 500
    share = 1 - cascading / erroneous
    assert share >= 0.95, f"{share:.1%} of {erroneous} mutants give <= 2 errors; worst: {sorted(worst)[-5:]}"
