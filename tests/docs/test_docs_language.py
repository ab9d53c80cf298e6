"""`docs/language.md`: its examples are real.

Every ```adf block must parse; blocks fenced as ```adf program are whole
programs and must compile with no diagnostic at all from the compiler (the
lints are not asked for: small examples leave models or params unused).
`py` modules resolve next to `examples/hotpotqa/`, where `retrieval.py`
lives. The page must also mention every declaration keyword, every std
function and metric, and every construct the brief lists.
"""

from __future__ import annotations

import re

import pytest
from docs_pages import REPO

from adf.compiler.pipeline import compile_source
from adf.stdlib.signatures import FUNCTIONS, METRICS
from adf.syntax.parser import parse

PAGE = (REPO / "docs" / "language.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```adf( program)?\n(.*?)^```", PAGE, re.M | re.S)
PROGRAMS = [text for marker, text in BLOCKS if marker]
FRAGMENTS = [text for marker, text in BLOCKS if not marker]


def test_page_has_programs_and_fragments() -> None:
    assert len(PROGRAMS) >= 5 and len(FRAGMENTS) >= 10


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_complete_program_compiles_clean(index: int) -> None:
    result = compile_source(PROGRAMS[index], "language.adf", base_dir=str(REPO / "examples" / "hotpotqa"))
    assert [f"{d.code}: {d.message}" for d in result.diagnostics] == []
    assert result.plan is not None and result.plan.nodes


@pytest.mark.parametrize("index", range(len(FRAGMENTS)))
def test_fragment_parses(index: int) -> None:
    program, diagnostics = parse(FRAGMENTS[index])
    assert [d.message for d in diagnostics] == [] and program is not None


def test_every_std_entry_and_metric_is_documented() -> None:
    for name in [*FUNCTIONS, *METRICS]:
        assert f"`{name}`" in PAGE, name


@pytest.mark.parametrize(
    "construct",
    ["model ", "train {", "param ", ": prompt", "demos(max:", "frozen", "trainable", "input ", "target ",
     'from "', "llm ", "system:", "user:", "using ", "fn ", 'py "', "std.", "node ", "state ", "loop ",
     "loss ", "output ", "env(", '"""', "{{", "enum{", "list[", "#", "\\u", "+", "[{",
     "match ", "if ", " => ", ".label", " * ", "const ", " until ", "map ", " >= ", " and ",
     "not "],
)  # fmt: skip
def test_construct_is_shown_in_an_example(construct: str) -> None:
    assert any(construct in text for _, text in BLOCKS)


def test_std_table_matches_the_signatures() -> None:
    rows = dict(re.findall(r"^\| `(std\.[a-z_.]+)` \| [^|]* \| `([^`]+)` \|", PAGE, re.M))
    for name, (params, result) in FUNCTIONS.items():
        if result == "any":
            continue
        assert rows.get(name) == result, name
        for param, type_ in params:
            assert f"{param}: {type_}" in PAGE, (name, param)
    for metric, options in METRICS.items():
        for option, type_ in options.items():
            assert re.search(rf"^\| `{re.escape(metric)}` \| `{option}: {type_}` \|", PAGE, re.M), metric
