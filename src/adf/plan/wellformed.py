"""Whether a text can be written as UTF-8: the one test for a lone surrogate.

A lone surrogate (half of a UTF-16 pair, `\\ud800`-`\\udfff` without its other
half) is what a JSON `\\ud800` escape or a bad `\\u` escape in a source gives
Python; it cannot be printed, cached, traced or sent to a provider. The
syntax layer refuses one in a string literal, the runtime in a data row or
an input, and the model-call layer replaces one in a reply.
"""

from __future__ import annotations


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def well_formed(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as a UTF-8 decoder does with a
    bad byte."""
    if not has_lone_surrogate(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
