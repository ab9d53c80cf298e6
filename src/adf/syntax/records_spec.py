"""Declarations of the syntax package's small records (beside the AST, `ast_spec.py`).

Takes nothing; gives `Hint` (a common mistake named in words, found by
`adf.syntax.hints`), which that module imports from here under its name.
"""

from __future__ import annotations

import attrs

from adf.diagnostics import Span


@attrs.frozen
class Hint:
    code: str
    message: str
    span: Span
    label: str
    help: str = ""
    secondary: tuple[tuple[Span, str], ...] = ()
