"""Every lint code has a page whose example emits exactly that code."""

from __future__ import annotations

import pathlib
import re

import pytest

from adf.analysis.config import LintConfig, load_lint_config
from adf.analysis.lint import lint_plan
from adf.compiler.codes import CodeInfo, all_codes
from adf.compiler.pipeline import compile_source

LINT_CODES = {code: info for code, info in all_codes().items() if code[:3] in ("W05", "W06")}
ANALYSIS = pathlib.Path(__file__).parents[2] / "src" / "adf" / "analysis"


def test_every_emitted_code_has_a_page() -> None:
    emitted = set()
    for path in ANALYSIS.glob("*.py"):
        emitted |= set(re.findall(r'"(W0[56]\d\d)"', path.read_text()))
    assert emitted, "no codes found in the analysis sources"
    assert emitted == set(LINT_CODES)


@pytest.mark.parametrize("code", sorted(LINT_CODES))
def test_page_layout(code: str) -> None:
    info = LINT_CODES[code]
    assert info.severity == "warning" and info.phase == "lint" and info.summary
    for section in ("## Example", "## Explanation", "## Fix"):
        assert section in info.page


def adf_pages() -> list[CodeInfo]:
    return [info for info in LINT_CODES.values() if info.example is not None]


@pytest.mark.parametrize("info", adf_pages(), ids=lambda i: i.code)
def test_adf_example_emits_exactly_its_code(info: CodeInfo) -> None:
    assert info.example is not None
    result = compile_source(info.example, f"{info.code}.adf")
    assert result.plan is not None, result.diagnostics
    found = lint_plan(result.plan, result.file, result.source, LintConfig(), result.diagnostics)
    assert found and {d.code for d in found} == {info.code}


@pytest.mark.parametrize("code", ["W0520", "W0521"])
def test_config_example_emits_exactly_its_code(code: str, tmp_path: pathlib.Path) -> None:
    page = LINT_CODES[code].page
    match = re.search(r"## Example\n```toml\n(.*?)```", page, re.S)
    assert match is not None
    (tmp_path / "pyproject.toml").write_text(match.group(1))
    _, found = load_lint_config(str(tmp_path))
    assert found and {d.code for d in found} == {code}
