"""The golden file of broken programs: how adf talks, read as a spec.

`golden/broken.adfg` holds programs that are wrong in one way each, every
one headed `### what is wrong` and followed by `>>>` lines: the first
diagnostic `adfc check` gives (code, line:col, message) and its help. Read
the file to review the wording; after a deliberate change of wording run
`python tests/compiler/test_golden.py --update` and review the diff.
`py` modules resolve next to examples/hotpotqa (where `retrieval.py` is).
"""

from __future__ import annotations

import pathlib
import sys

import pytest

from adf.compiler.pipeline import compile_source
from adf.diagnostics import Diagnostic

HERE = pathlib.Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "broken.adfg"
BASE = HERE.parents[1] / "examples" / "hotpotqa"


def _cases(text: str) -> list[tuple[str, str, list[str]]]:
    cases = []
    for block in text.split("### ")[1:]:
        name, _, body = block.partition("\n")
        lines = body.splitlines(keepends=True)
        program = "".join(line for line in lines if not line.startswith(">>> "))
        expected = [line[4:].rstrip("\n") for line in lines if line.startswith(">>> ")]
        cases.append((name.strip(), program, expected))
    return cases


def _first(program: str) -> Diagnostic:
    from adf.analysis.config import LintConfig
    from adf.analysis.lint import lint_plan

    result = compile_source(program, "broken.adf", base_dir=str(BASE))
    found = result.diagnostics
    if result.plan is not None:
        found = lint_plan(result.plan, "broken.adf", program, LintConfig(), result.diagnostics)
    assert found, "the program checks clean"
    return found[0]


def _describe(d: Diagnostic) -> list[str]:
    span = d.primary.span
    lines = [f"{d.code} {span.line}:{span.col} {d.message}"]
    if d.help:
        lines.append(f"help: {d.help}")
    return lines


CASES = _cases(GOLDEN.read_text(encoding="utf-8"))


def test_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "program", "expected"), CASES, ids=[c[0] for c in CASES])
def test_first_diagnostic(name: str, program: str, expected: list[str]) -> None:
    assert _describe(_first(program)) == expected


def _update() -> None:
    out = []
    for name, program, _ in CASES:
        out.append(f"### {name}\n{program}")
        out += [f">>> {line}\n" for line in _describe(_first(program))]
    GOLDEN.write_text("".join(out), encoding="utf-8")
    print(f"wrote {GOLDEN} ({len(CASES)} programs)")


if __name__ == "__main__" and "--update" in sys.argv:
    _update()
