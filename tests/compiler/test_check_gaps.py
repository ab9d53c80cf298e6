"""Programs `adfc check` once accepted that then failed or gave a result the types rule out.

Each test pins one rule the checker now shares with the runtime: the program
that slipped through is rejected (or warned about) with its code, and a
close variant that runs correctly still checks clean.
"""

from __future__ import annotations

import pytest

from .conftest import codes

TWO_ENUMS = """model m = "local"
param p: prompt = "Label it."
input question: str
target answer: enum{a, b}
llm first(question: str) -> enum{a, b} using m { system: [p] user: "{question}" }
llm second(question: str) -> LABELS using m { user: "{question}" }
node x = first(question)
node y = second(question)
node pred = if x == y then "same" else "different"
loss acc = std.loss.METRIC(y, answer)
output pred
"""


@pytest.mark.parametrize(
    ("labels", "metric", "expected"),
    [
        ("enum{c, d}", "exact_match", ["E0211", "E0242"]),  # no label in common: never equal, never scores
        ("enum{c, d}", "label_match", ["E0211", "E0242"]),
        ("enum{b, c}", "exact_match", []),  # one label in common
        ("enum{A, d}", "exact_match", ["E0242"]),  # `==` is exact; the metric lowercases
        ("enum{A, d}", "label_match", ["E0242"]),
        ("enum{\"a b\", c}", "f1", ["E0242"]),  # f1 gives partial credit for the shared token
    ],
)
def test_enums_without_a_common_label(labels: str, metric: str, expected: list[str]) -> None:
    program = TWO_ENUMS.replace("LABELS", labels).replace("METRIC", metric)
    assert [c for c in codes(program) if c.startswith("E")] == expected


def test_an_enum_scored_against_a_text_it_never_takes() -> None:
    program = TWO_ENUMS.replace("LABELS", "enum{c, d}").replace("std.loss.METRIC(y, answer)",
                                                                "std.loss.exact_match(x, \"yes\")")
    assert "E0211" in codes(program)
    assert "E0211" not in codes(program.replace('"yes"', '"A"'))  # exact_match lowercases
