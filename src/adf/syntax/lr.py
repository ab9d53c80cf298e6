"""The table-driven LR(1) driver: tokens -> values built by reduction callbacks.

Takes source text, where to start, and one callback per grammar rule (the
AST builders of `adf.syntax.parser`); gives the value the start rule's
callback built. Lark computed the LALR(1) tables ahead of time
(`python -m adf.syntax.regenerate` writes `_tables.py`); this module walks
them with a shift-reduce loop, so parsing needs neither Lark nor a parse
tree at run time. Keywords are contextual: `input` is a keyword where a
declaration may start and an ordinary name where only a name fits.
Inlined rules (`_rule`, `item*`) hand their children up instead of calling
back. The loop is iterative and refuses nesting deeper than `MAX_DEPTH`, so
no input can exhaust the Python stack in this or a later pass. On an error
it raises a `SyntaxFailure` (`adf.syntax.errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adf.diagnostics import Span
from adf.syntax import _tables
from adf.syntax.errors import SyntaxFailure, parse_error, syntax_error
from adf.syntax.lexer import Tok, tokens

MAX_DEPTH = 200

_NAMED = frozenset({"NAME", "INT", "FLOAT", "STRING", "LONG_STRING", "COMPARE"})
_OPENERS = frozenset({"LBRACE", "LPAR", "LSQB"})
_CLOSERS = frozenset({"RBRACE", "RPAR", "RSQB"})

Callback = Callable[[list[Any], Span], Any]


def drive(text: str, offset: int, line: int, callbacks: Mapping[str, Callback]) -> Any:
    """Parse `text[offset:]` (which starts on line `line`) with one callback per rule."""
    states = _tables.STATES
    rules = _tables.RULES
    keywords = _tables.KEYWORDS
    end_state = _tables.END
    state_stack: list[int] = [_tables.START]
    # Each value entry: (value, start_line, start_col, end_line, end_col).
    value_stack: list[tuple[Any, int, int, int, int]] = []
    openers: list[Tok] = []  # brackets still open, for "unclosed `{`" (adf.syntax.hints)
    prev: Tok | None = None
    prev_first = False  # whether `prev` is the first token on its line
    for tok in tokens(text, offset, line):
        if tok.type == "NAME":
            kw = keywords.get(tok.value)
            if kw is not None and kw in states[state_stack[-1]]:
                tok.type = kw
        while True:
            actions = states[state_stack[-1]]
            action = actions.get(tok.type)
            if action is None:
                raise parse_error(tok, actions, prev, openers, prev_first)
            if action >= 0:
                if tok.type in _OPENERS:
                    openers.append(tok)
                elif tok.type in _CLOSERS and openers:
                    openers.pop()
                prev_first = prev is None or prev.end_line != tok.line
                prev = tok
                state_stack.append(action)
                value_stack.append((tok, tok.line, tok.col, tok.end_line, tok.end_col))
                if len(state_stack) > MAX_DEPTH:
                    raise SyntaxFailure(
                        syntax_error(
                            "E0006",
                            "nesting too deep",
                            tok.span,
                            f"more than {MAX_DEPTH} levels open here",
                            help_="split the expression into several `node` declarations",
                        ),
                        tok.line,
                    )
                break
            origin, callback, size, inline, expand1 = rules[-1 - action]
            if size:
                entries = value_stack[-size:]
                del value_stack[-size:]
                del state_stack[-size:]
                start_line, start_col = entries[0][1], entries[0][2]
                end_line, end_col = entries[-1][3], entries[-1][4]
            else:
                entries = []
                start_line, start_col, end_line, end_col = tok.line, tok.col, tok.line, tok.col
            # A left-recursive repetition (`item*`) grows one list in place:
            # copying it at every reduction would make long files quadratic.
            children: list[Any]
            if entries and isinstance(entries[0][0], _Inline):
                children = entries[0][0].items
                rest = entries[1:]
            else:
                children, rest = [], entries
            for entry in rest:
                value = entry[0]
                if isinstance(value, _Inline):
                    children.extend(value.items)
                else:
                    children.append(value)
            if inline:
                result: Any = _Inline(children)
            else:
                kept = [c for c in children if not (isinstance(c, Tok) and c.type not in _NAMED)]
                if expand1 and len(kept) == 1:
                    result = kept[0]
                else:
                    span = Span(start_line, start_col, end_line, end_col)
                    result = callbacks[callback](kept, span)
            goto = states[state_stack[-1]][origin]
            state_stack.append(goto)
            value_stack.append((result, start_line, start_col, end_line, end_col))
            if goto == end_state and tok.type == "$END":
                return result
    raise AssertionError("the parser consumed the end of input without accepting")  # grammar bug



class _Inline:
    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = items

