"""The one grammar of template placeholders, shared by the checker and the runtime.

Takes the literal text of a template part (without its quotes); gives its
pieces (`scan`) and the text with its placeholders filled (`fill`). The
grammar, in full:

- `{name}` (a name: a letter or `_`, then letters, digits or `_`; no spaces)
  is a placeholder, replaced by the argument `name`;
- `{{` and `}}` stand for a single literal brace;
- anything else with a brace in it (`{ name }`, `{a.b}`, `{}`, a lone `{`)
  is malformed: the checker reports it (E0208) and the runtime keeps such
  text as it is, so the two can never disagree about what is filled.

The compiler's template check, the runtime's renderer and the analyses'
prompt-size estimate all read templates through this module only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from adf.plan.records import Piece as Piece
from adf.plan.records import PieceKind as PieceKind

_PIECE = re.compile(
    r"(?P<brace>\{\{|\}\})"
    r"|\{(?P<hole>[A-Za-z_][A-Za-z0-9_]*)\}"
    r"|(?P<malformed>\{[^{}\n]*\}|[{}])"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def scan(text: str) -> tuple[Piece, ...]:
    """Every piece of `text`, in order; the pieces cover the text exactly."""
    pieces: list[Piece] = []
    at = 0
    for match in _PIECE.finditer(text):
        if match.start() > at:
            pieces.append(Piece("text", at, match.start(), text[at : match.start()]))
        if match.group("brace") is not None:
            pieces.append(Piece("brace", match.start(), match.end(), match.group("brace")[0]))
        elif match.group("hole") is not None:
            pieces.append(Piece("hole", match.start(), match.end(), match.group("hole")))
        else:
            pieces.append(Piece("malformed", match.start(), match.end(), match.group(0)))
        at = match.end()
    if at < len(text):
        pieces.append(Piece("text", at, len(text), text[at:]))
    return tuple(pieces)


def holes(text: str) -> tuple[str, ...]:
    """The names of the placeholders in `text`, in order (repeats kept)."""
    return tuple(p.value for p in scan(text) if p.kind == "hole")


def fill(text: str, value: Callable[[str], str | None]) -> str:
    """`text` with each placeholder replaced by `value(name)`, in one pass.

    A placeholder whose `value` is None, and malformed text, stay as written;
    `{{`/`}}` become single braces. Filled text is never scanned again."""
    out: list[str] = []
    for piece in scan(text):
        if piece.kind == "hole":
            filled = value(piece.value)
            out.append(text[piece.start : piece.end] if filled is None else filled)
        else:
            out.append(piece.value)
    return "".join(out)


def unspaced(malformed: str) -> str | None:
    """For `{ name }` (a name with spaces around it), the name; None otherwise."""
    if not (malformed.startswith("{") and malformed.endswith("}")):
        return None
    inner = malformed[1:-1].strip()
    return inner if _NAME.fullmatch(inner) else None
