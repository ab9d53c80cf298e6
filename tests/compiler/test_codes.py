"""The code registry: every compiler page names its severity, title and summary; `explain` and `normalize`."""

from __future__ import annotations

import pytest

from adf.compiler.codes import all_codes, explain, normalize

MINE = {"syntax", "names", "types", "graph", "bindings"}
PAGES = {c: i for c, i in all_codes().items() if i.phase in MINE}


def test_enough_codes() -> None:
    assert len(PAGES) >= 25


@pytest.mark.parametrize("code", sorted(PAGES))
def test_page_names_its_severity_title_and_summary(code: str) -> None:
    # Whether each page's example emits exactly its code is checked once, for
    # every code, in tests/docs/test_docs_code_pages.py.
    info = PAGES[code]
    assert info.severity == ("error" if code.startswith("E") else "warning")
    assert info.summary and info.title


def test_explain_and_normalize() -> None:
    assert normalize("e102") == "E0102"
    assert normalize("nonsense") is None
    page = explain("e102")
    assert page is not None and page.startswith("# E0102")
    assert explain("E9999") is None
