"""The code registry: every page parses and its example emits exactly its code."""

from __future__ import annotations

import pathlib

import pytest

from adf.compiler.codes import all_codes, explain, normalize, write_example
from adf.compiler.pipeline import compile_file

from .conftest import compile_text

MINE = {"syntax", "names", "types", "graph", "bindings"}
PAGES = {c: i for c, i in all_codes().items() if i.phase in MINE}


def test_enough_codes() -> None:
    assert len(PAGES) >= 25


@pytest.mark.parametrize("code", sorted(PAGES))
def test_page_example_emits_exactly_its_code(code: str, tmp_path: pathlib.Path) -> None:
    info = PAGES[code]
    assert info.severity == ("error" if code.startswith("E") else "warning")
    assert info.summary and info.title
    if code in {"E0007", "E0118"}:  # unreadable files; a 33-file chain (see test_use.py)
        assert info.example is None
        return
    assert info.example is not None, f"{code} has no example"
    if info.example_files:  # files that use one another: the first is checked
        main = write_example(info.example_files, str(tmp_path))
        result = compile_file(main)
        assert sorted({d.code for d in result.diagnostics if d.file == main}) == [code]
        return
    result = compile_text(info.example, f"{code}.adf")
    assert sorted({d.code for d in result.diagnostics}) == [code]



def test_explain_and_normalize() -> None:
    assert normalize("e102") == "E0102"
    assert normalize("nonsense") is None
    page = explain("e102")
    assert page is not None and page.startswith("# E0102")
    assert explain("E9999") is None
