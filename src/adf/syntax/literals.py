"""Literal values: the text of a string literal, the value of a number.

Takes a STRING, LONG_STRING, INT or FLOAT token; gives its value, and appends a
diagnostic for what cannot be decoded: an unknown escape or a lone UTF-16
surrogate (E0004, E0002), an integer that does not fit a plan's 64-bit
(signed) msgpack integers, and floats finite (E0008). A backslash at the end of a line joins
it with the next.
"""

from __future__ import annotations

import math
import sys

from adf.diagnostics import Diagnostic, Span
from adf.plan.wellformed import has_lone_surrogate
from adf.syntax.errors import syntax_error
from adf.syntax.lexer import Tok

# Integer literals must fit a plan's 64-bit (signed) msgpack integers.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INT_DIGITS = 19  # no literal with more digits fits; checked before `int()` (Python's 4300-digit limit)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def unescape(body: str, tok: Tok, quote: int, diagnostics: list[Diagnostic]) -> str:
    """The text of a string literal's `body`, which starts `quote` characters into `tok`."""
    if "\\" not in body and not has_lone_surrogate(body):
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            if _is_surrogate(char):
                _bad_char(tok, quote + i, f"U+{ord(char):04X}", diagnostics)
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        if nxt == "u" and _is_hex4(body[i + 2 : i + 6]):
            code = int(body[i + 2 : i + 6], 16)
            if 0xD800 <= code <= 0xDBFF and body[i + 6 : i + 8] == "\\u" and _is_hex4(body[i + 8 : i + 12]):
                low = int(body[i + 8 : i + 12], 16)
                if 0xDC00 <= low <= 0xDFFF:  # a UTF-16 surrogate pair, as in JSON
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                    continue
            if 0xD800 <= code <= 0xDFFF:
                _lone_surrogate(tok, quote + i, body[i : i + 6], diagnostics)
            out.append(chr(code))
            i += 6
            continue
        if nxt == "\n":  # a backslash at the end of a line joins it with the next
            i += 2
            continue
        line, col = _position_in(tok, quote + i)
        diagnostics.append(
            syntax_error(
                "E0004",
                f"unknown escape sequence `\\{nxt}`",
                Span(line, col, line, col + 2),
                "not a valid escape",
                help_='valid escapes are \\n \\t \\r \\\\ \\" \\0 and \\uXXXX; write `\\\\` for a backslash',
            )
        )
        out.append(nxt)
        i += 2
    return "".join(out)


def _lone_surrogate(tok: Tok, index: int, text: str, diagnostics: list[Diagnostic]) -> None:
    line, col = _position_in(tok, index)
    diagnostics.append(
        syntax_error(
            "E0004",
            f"the escape `{text}` is half of a UTF-16 surrogate pair, not a character",
            Span(line, col, line, col + len(text)),
            "a lone surrogate",
            help_="write the character itself, or both halves of the pair (e.g. `\\ud83d\\ude00`)",
        )
    )


def _bad_char(tok: Tok, index: int, shown: str, diagnostics: list[Diagnostic]) -> None:
    line, col = _position_in(tok, index)
    diagnostics.append(
        syntax_error(
            "E0002",
            f"unexpected character `{shown}`",
            Span.point(line, col),
            "a lone surrogate is not text",
            help_="the source must be valid Unicode text",
        )
    )


def int_value(tok: Tok, diagnostics: list[Diagnostic]) -> int:
    """The value of an INT token; 0 (with an E0008) when it does not fit 64 bits."""
    digits = tok.value.lstrip("-").lstrip("0")
    value = int(tok.value) if len(digits) <= _INT_DIGITS else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        shown = tok.value if len(tok.value) <= 24 else tok.value[:20] + "..."
        diagnostics.append(
            syntax_error(
                "E0008",
                f"the integer `{shown}` is out of range",
                tok.span,
                f"{len(digits)} digits",
                help_=f"integers must lie between {INT_MIN} and {INT_MAX}",
            )
        )
        return 0
    return value


def float_value(tok: Tok, diagnostics: list[Diagnostic]) -> float:
    """The value of a FLOAT token; 0.0 (with an E0008) when it is too large to be finite."""
    value = float(tok.value)
    if math.isinf(value):
        shown = tok.value if len(tok.value) <= 24 else tok.value[:20] + "..."
        diagnostics.append(
            syntax_error(
                "E0008",
                f"the number `{shown}` is out of range",
                tok.span,
                "infinite as a float",
                help_=f"floats must be finite: at most {sys.float_info.max:.4g} in size",
            )
        )
        return 0.0
    return value


def loop_bound(tok: Tok) -> int | None:
    """A loop bound's value; None when it does not fit 64 bits."""
    if len(tok.value.lstrip("-").lstrip("0")) > _INT_DIGITS:
        return None
    value = int(tok.value)
    return value if INT_MIN <= value <= INT_MAX else None


def _is_hex4(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"



def _position_in(tok: Tok, index: int) -> tuple[int, int]:
    """Line and column of character `index` of the token's text."""
    before = tok.value[:index]
    newlines = before.count("\n")
    if newlines == 0:
        return tok.line, tok.col + index
    return tok.line + newlines, index - before.rfind("\n")
