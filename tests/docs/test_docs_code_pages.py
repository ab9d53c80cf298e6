"""Every diagnostic code's page: its example emits exactly that code; `adfc explain` shows it.

Error pages: compiling the example gives exactly the page's code. Lint
pages (W05xx, W06xx): the example compiles and `lint_plan` reports exactly
that code. Compiler warnings (W01xx-W04xx): compiling gives exactly that
code and no error. The configuration lints W0520/W0521 show a
`pyproject.toml` instead, checked with `load_lint_config`.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
from docs_pages import CODES, compile_page, compiler_codes, linted_codes

from adf.analysis.config import load_lint_config
from adf.cli.main import main
from adf.compiler.pipeline import compile_file

ADF_PAGES = sorted(code for code, info in CODES.items() if info.example is not None)
TOML_PAGES = sorted(code for code, info in CODES.items() if "```toml" in info.page and info.example is None)


def test_at_least_25_distinct_codes_with_examples() -> None:
    assert len(CODES) >= 25
    assert len(ADF_PAGES) >= 25
    assert {c[:1] for c in CODES} == {"E", "W"}


def test_every_page_but_unreadable_files_and_config_has_an_example() -> None:
    # E0007 is about the file, not its text; E0118 takes 33 files (tests/compiler/test_use.py),
    # E0121 a long chain of workflow calls (tests/compiler/test_check_gaps.py)
    assert set(CODES) - set(ADF_PAGES) - set(TOML_PAGES) == {"E0007", "E0118", "E0121"}


@pytest.mark.parametrize("code", ADF_PAGES)
def test_page_example_emits_exactly_its_code(code: str) -> None:
    info = CODES[code]
    result = compile_page(info)
    if code.startswith("E"):
        assert compiler_codes(result) == {code}
        assert result.plan is None
    elif info.phase == "lint":
        assert result.ok, [d.code for d in result.diagnostics]
        assert linted_codes(result) == {code}
    else:
        assert compiler_codes(result) == {code}
        assert result.ok and code in linted_codes(result)


@pytest.mark.parametrize("code", TOML_PAGES)
def test_config_page_example_emits_exactly_its_code(code: str, tmp_path: pathlib.Path) -> None:
    match = re.search(r"## Example\n```toml\n(.*?)```", CODES[code].page, re.S)
    assert match is not None
    (tmp_path / "pyproject.toml").write_text(match.group(1), encoding="utf-8")
    _, found = load_lint_config(str(tmp_path))
    assert {d.code for d in found} == {code}


def test_unreadable_file_is_e0007(tmp_path: pathlib.Path) -> None:
    assert {d.code for d in compile_file(str(tmp_path / "missing.adf")).diagnostics} == {"E0007"}
    (tmp_path / "latin1.adf").write_bytes("# caf\xe9\n".encode("latin-1"))
    assert {d.code for d in compile_file(str(tmp_path / "latin1.adf")).diagnostics} == {"E0007"}


@pytest.mark.parametrize("code", sorted(CODES))
def test_explain_prints_the_page(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", code]) == 0
    out = capsys.readouterr().out
    assert out.strip() == CODES[code].page.strip()
    assert main(["explain", code.lower()]) == 0
    assert capsys.readouterr().out == out


def test_explain_list_names_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if line.strip()] == sorted(CODES)


@pytest.mark.parametrize("code", ["E9999", "W0999", "X1", "", "E01020"])
def test_explain_unknown_code_exits_2(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", code]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip()


def test_explain_as_a_command() -> None:
    ok = subprocess.run([sys.executable, "-m", "adf.cli.main", "explain", "E0301"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("# E0301")
    bad = subprocess.run([sys.executable, "-m", "adf.cli.main", "explain", "E9999"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and "unknown code" in bad.stderr


def test_config_code_list_matches_the_registry() -> None:
    # `[tool.adf]` validation lists the page files instead of parsing every page
    from adf.analysis.config import documented_codes

    assert documented_codes() == frozenset(CODES)
