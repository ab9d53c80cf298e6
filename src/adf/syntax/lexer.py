"""Text -> tokens: the `.adf` lexer.

Takes source text and where to start in it; gives `Tok`s with 1-based
positions (end exclusive), then a final `$END` token. The token patterns
come from the grammar through the generated tables (`_tables.py`); an
unlexable character or an unterminated string raises a `SyntaxFailure`
(E0002, E0005). Keywords are lexed as names: the LR driver decides, from
the state it is in, whether a name is a keyword there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from adf.diagnostics import Span
from adf.syntax import _tables
from adf.syntax.errors import lex_error


def _build_lexer() -> re.Pattern[str]:
    groups = [f"(?P<{name}>{pattern})" for name, pattern in _tables.REGEX_TERMINALS]
    groups += [f"(?P<{name}>{re.escape(text)})" for text, name in _tables.PUNCT.items()]
    return re.compile("|".join(groups))


_LEXER = _build_lexer()


class Tok:
    """A token with its position (1-based lines and columns, end exclusive)."""

    __slots__ = ("col", "end_col", "end_line", "line", "type", "value")

    def __init__(self, type_: str, value: str, line: int, col: int, end_line: int, end_col: int):
        self.type = type_
        self.value = value
        self.line = line
        self.col = col
        self.end_line = end_line
        self.end_col = end_col

    @property
    def span(self) -> Span:
        return Span(self.line, self.col, self.end_line, self.end_col)



def tokens(text: str, offset: int, line: int) -> Iterator[Tok]:
    """Yield tokens from `text[offset:]`, then a final `$END` token."""
    pos = offset
    line_start = text.rfind("\n", 0, offset) + 1
    match_at = _LEXER.match
    ignore = _tables.IGNORE
    end = len(text)
    while pos < end:
        m = match_at(text, pos)
        if m is None:
            col = pos - line_start + 1
            raise lex_error(text, pos, line, col)
        kind = m.lastgroup
        assert kind is not None
        value = m.group()
        newlines = value.count("\n")
        col = pos - line_start + 1
        if newlines:
            new_line_start = pos + value.rfind("\n") + 1
            end_line, end_col = line + newlines, m.end() - new_line_start + 1
        else:
            new_line_start = line_start
            end_line, end_col = line, col + len(value)
        if kind not in ignore:
            yield Tok(kind, value, line, col, end_line, end_col)
        line, line_start, pos = end_line, new_line_start, m.end()
    col = pos - line_start + 1
    yield Tok("$END", "", line, col, line, col)

