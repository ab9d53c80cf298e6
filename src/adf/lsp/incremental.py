"""Incremental parsing for the editor: re-parse only the declarations an edit touched.

Takes a document's text and the pieces parsed from its previous text; gives
the `Program` that `adf.syntax.parser.parse` would give, or None when the
text must be parsed whole (a piece has a syntax error, so the whole-file
parse gives the exact syntax diagnostics `adfc check` reports).

The text is cut into pieces before lines that start, in the first column
and outside any string, with a declaration keyword. Each piece is parsed
alone, preceded by as many newlines as lines before it, so its spans are
those of the whole file. A piece seen before at the same line is reused as
is; seen at another line (lines were added or removed above it), its
declarations are moved by the difference. A cut in the wrong place (a
keyword in the first column inside a block) leaves a piece that does not
parse, and the whole text is parsed instead: the result is never wrong,
only slower.
"""

from __future__ import annotations

import re
from typing import Any

from adf.diagnostics import Span
from adf.lsp.lexemes import lexemes
from adf.syntax import ast
from adf.syntax.parser import parse

_START = re.compile(
    r"^(?:model|train|param|input|target|llm|fn|node|state|loop|loss|output)\b", re.MULTILINE
)

Pieces = dict[str, tuple[int, tuple[ast.Decl, ...]]]  # piece text -> (first line, its decls)


def cut(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each piece; the pieces joined give `text` back."""
    strings = [(start, end) for start, end, _ in lexemes(text)]
    starts = [0]
    position = 0
    for match in _START.finditer(text):
        at = match.start()
        while position < len(strings) and strings[position][1] <= at:
            position += 1
        if position < len(strings) and strings[position][0] < at:
            continue  # inside a string (or a comment)
        if at > starts[-1]:
            starts.append(at)
    pieces = []
    line = 1
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[begin:end]
        pieces.append((line, piece))
        line += piece.count("\n")
    return pieces


def parse_incrementally(text: str, previous: Pieces) -> tuple[ast.Program | None, Pieces]:
    """The program of `text` (None: parse it whole) and the pieces to pass next time."""
    decls: list[ast.Decl] = []
    pieces: Pieces = {}
    for line, piece in cut(text):
        known = previous.get(piece) or pieces.get(piece)
        if known is not None and known[0] == line:
            found = known[1]
        elif known is not None:
            found = _moved(known[1], line - known[0])
        else:
            program, diagnostics = parse("\n" * (line - 1) + piece)
            if program is None or diagnostics:
                return None, {}
            found = program.decls
        pieces[piece] = (line, found)
        decls.extend(found)
    return ast.Program(tuple(decls)), pieces


def _moved(decls: tuple[ast.Decl, ...], lines: int) -> tuple[ast.Decl, ...]:
    return tuple(_shift(decl, lines) for decl in decls)


def _shift(value: Any, lines: int) -> Any:
    """A copy of an AST value with every span moved down by `lines`.

    The copy is made by setting a new instance's slots directly (the classes
    are frozen records): several times faster than rebuilding each
    node through its constructor.
    """
    kind = type(value)
    if kind is Span:
        return Span(value.line + lines, value.col, value.end_line + lines, value.end_col)
    if kind is tuple:
        return tuple([_shift(item, lines) for item in value])
    fields = getattr(kind, "__record_fields__", None)
    if fields is None:
        return value  # str, int, float, bool, None
    copy = object.__new__(kind)
    for field in fields:
        _set(copy, field.name, _shift(getattr(value, field.name), lines))
    return copy


_set = object.__setattr__  # frozen records refuse their own __setattr__
