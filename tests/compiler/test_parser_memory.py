"""A huge string literal is lexed and decoded in memory linear in its size.

The string terminals are unrolled loops with possessive repeats: a regular
expression of the form `(a|b)*` made Python's `re` keep backtracking state for
every character (a 10 MB literal took 2.3 GB).
"""

from __future__ import annotations

import tracemalloc

import pytest

from adf.syntax.parser import parse


@pytest.mark.parametrize(("body", "bound"), [
    ("x" * 2_000_000, 5),  # plain text: the token, the decoded value, the source
    ("ab\\n" * 500_000, 12),  # escapes: decoded through a list of characters
    ('"""' + "line\n" * 400_000 + '"""', 5),  # a long string
])
def test_a_huge_literal_parses_in_linear_memory(body: str, bound: int) -> None:
    quoted = body if body.startswith('"""') else f'"{body}"'
    text = f"param p: prompt = {quoted}\n"
    tracemalloc.start()
    try:
        program, diagnostics = parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert diagnostics == () and program is not None
    assert peak < bound * len(text)
