"""The examples of the compiler warnings' pages show exactly their code under `adfc check`.

The compiler emits W0101, W0401 and W0402 alone, but `adfc check` also runs
the lints, which could add W0501 (a trainable parameter with no loss) or
W0508 (an unused model) to a careless example.
"""

from __future__ import annotations

import pytest
from docs_pages import CODES, compile_page, linted_codes


@pytest.mark.parametrize("code", ["W0101", "W0401", "W0402"])
def test_compiler_warning_page_is_clean_under_lint(code: str) -> None:
    assert linted_codes(compile_page(CODES[code])) == {code}
