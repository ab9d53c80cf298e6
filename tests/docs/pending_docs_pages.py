"""Page examples that `adfc check` reports with a second code (kept out of the suite).

The pages of the compiler warnings W0101, W0401 and W0403 emit exactly their
code from the compiler, but `adfc check` also lints them and adds W0501 (a
trainable parameter with no loss) or W0508 (an unused model). Give the
examples a loss / a use of the model (or no model), then rename this file
to `test_docs_pages_linted.py`.
"""

from __future__ import annotations

import pytest
from docs_pages import CODES, compile_page, linted_codes


@pytest.mark.parametrize("code", ["W0101", "W0401", "W0403"])
def test_compiler_warning_page_is_clean_under_lint(code: str) -> None:
    assert linted_codes(compile_page(CODES[code])) == {code}
