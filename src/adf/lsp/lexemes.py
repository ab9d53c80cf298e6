"""Where the strings and comments of `.adf` text are, without parsing it.

Takes source text, possibly half-typed; gives the spans of its string
literals (triple-quoted ones included) and `#` comments, the text with
their contents blanked, whether a position is inside an unclosed string,
whether the text ends inside a comment, and whether a line starts inside
a multi-line string. The editor features
use it to read the context around the cursor while the text does not parse.
Linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A string runs to its closing quote, or (unclosed) to the end of its line or, for a
# triple-quoted one, of the text; a comment to the end of its line.
_LEXEME = re.compile(r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*(?:"""|$)|"(?:[^"\\\n]|\\.)*"?|#[^\n]*')


def lexemes(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, text) of every string literal and comment."""
    for match in _LEXEME.finditer(text):
        yield match.start(), match.end(), match.group()


def blank(text: str) -> str:
    """`text` with strings and comments replaced by spaces, but for their newlines and quotes."""
    parts = []
    at = 0
    for start, end, lexeme in lexemes(text):
        parts.append(text[at:start])
        parts.append(re.sub(r'[^\n"]', " ", lexeme))
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _last(before: str) -> tuple[int, int, str] | None:
    """The string or comment that reaches the end of `before`, if one does."""
    last = None
    for found in lexemes(before):
        last = found
    return last if last is not None and last[1] == len(before) else None


def in_comment(before: str) -> bool:
    """Does `before` end inside a `#` comment?"""
    last = _last(before)
    return last is not None and last[2].startswith("#")


def open_string(before: str) -> int | None:
    """Where the string literal still open at the end of `before` starts, if one is."""
    last = _last(before)
    if last is None or last[2].startswith("#"):
        return None
    lexeme = last[2]
    if lexeme.startswith('"""'):
        closed = len(lexeme) >= 6 and lexeme.endswith('"""')
    else:
        closed = len(lexeme) >= 2 and lexeme.endswith('"') and not lexeme.endswith('\\"')
    return None if closed else last[0]


def starts_inside_string(text: str, line: int) -> bool:
    """Does 1-based `line` begin inside a multi-line string literal?"""
    row, counted = 1, 0
    for start, _, lexeme in lexemes(text):
        if not lexeme.startswith('"""'):
            continue
        row += text.count("\n", counted, start)
        counted = start
        if row >= line:
            return False
        if line <= row + lexeme.count("\n"):
            return True
    return False
