"""Syntax diagnostics: what the lexer and the parser say when they cannot go on.

Takes the token that could not be used (or the character that could not be
lexed), the terminals the LR tables would have accepted and what the driver
knows about the brackets still open; gives a `SyntaxFailure` carrying one
E00xx diagnostic. Common mistakes are named by `adf.syntax.hints`; the rest
read "expected X, found Y". `syntax_error` is the one constructor of a
syntax diagnostic, also used by the AST builders and the literal decoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.syntax import _tables, hints

if TYPE_CHECKING:
    from adf.syntax.lexer import Tok

_DECL_KEYWORDS = hints.DECLARATION_KEYWORDS
_KEYWORD_NAMES = frozenset(_tables.KEYWORDS.values())
_TERMINAL_TEXT = {name: text for text, name in (*_tables.KEYWORDS.items(), *_tables.PUNCT.items())}


class SyntaxFailure(Exception):
    """A syntax error that stops the parse; `line` is where to resume after."""

    def __init__(self, diagnostic: Diagnostic, line: int):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.line = line


def lex_error(text: str, pos: int, line: int, col: int) -> SyntaxFailure:
    char = text[pos]
    long_start = pos if text.startswith('"""', pos) else pos - 2
    if char == '"' and long_start >= 0 and text.startswith('"""', long_start):
        # `"""abc` with no closer lexes as `""` then `"abc`: point at the opener
        start_col = col - (pos - long_start)
        diagnostic = syntax_error(
            "E0005",
            'unterminated `"""` string',
            Span(line, start_col, line, start_col + 3),
            "this string is never closed",
            help_='close it with `"""` (a `"` inside it is fine; write `\\"""` for three quotes)',
        )
    elif char == '"':
        eol = text.find("\n", pos)
        end_col = col + ((eol if eol >= 0 else len(text)) - pos)
        span = Span(line, col, line, max(end_col, col + 1))
        diagnostic = syntax_error(
            "E0005",
            "unterminated string",
            span,
            "this string is never closed",
            help_='close it with `"` on the same line, or use `"""` for text over several lines',
        )
    else:
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        diagnostic = syntax_error(
            "E0002",
            f"unexpected character `{shown}`",
            Span.point(line, col),
            "not part of the language",
            help_=("names are ASCII letters, digits and `_`; other letters may appear in "
                   "strings and comments") if char.isalnum() else
            "strings go in double quotes; comments start with `#`",
        )
    return SyntaxFailure(diagnostic, line)


def syntax_error(
    code: str, message: str, span: Span, label: str, help_: str = "", notes: tuple[str, ...] = ()
) -> Diagnostic:
    return Diagnostic(
        code=code,
        severity=Severity.ERROR,
        message=message,
        file="",
        primary=Label(span, label),
        notes=notes,
        help=help_,
    )


def _describe(terminal: str) -> str:
    match terminal:
        case "NAME":
            return "a name"
        case "STRING" | "LONG_STRING":
            return "a string"
        case "INT":
            return "an integer"
        case "FLOAT":
            return "a number"
        case "$END":
            return "end of file"
    return f"`{_TERMINAL_TEXT.get(terminal, terminal)}`"


def _expected(actions: dict[str, int]) -> str:
    terminals = [t for t in actions if t.isupper() or t.startswith("__ANON") or t == "$END"]
    decl_names = {_tables.KEYWORDS[k] for k in _DECL_KEYWORDS}
    words: list[str] = []
    if len(decl_names & set(terminals)) >= 5:
        words.append("a declaration (`model`, `param`, `llm`, `fn`, `node`, `loss`, ...)")
        terminals = [t for t in terminals if t not in decl_names and t != "NAME"]
    if "INT" in terminals and "FLOAT" in terminals:
        terminals.remove("INT")
    if "STRING" in terminals and "LONG_STRING" in terminals:
        terminals.remove("LONG_STRING")
    words += sorted({_describe(t) for t in terminals}, key=lambda w: (not w.startswith("`"), w))
    if not words:
        return "nothing more here"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _found(tok: Tok) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type in ("STRING", "LONG_STRING"):
        return "a string"
    if tok.type in ("INT", "FLOAT"):
        return f"the number `{tok.value}`"
    if tok.type == "NAME":
        return f"the name `{tok.value}`"
    return f"`{tok.value}`"


def parse_error(
    tok: Tok, actions: dict[str, int], prev: Tok | None, openers: list[Tok], prev_first: bool
) -> SyntaxFailure:
    hint = hints.explain(tok, actions, prev, openers, prev_first)
    if hint is not None:
        return SyntaxFailure(
            Diagnostic(
                code=hint.code,
                severity=Severity.ERROR,
                message=hint.message,
                file="",
                primary=Label(hint.span, hint.label),
                secondary=tuple(Label(span, text) for span, text in hint.secondary),
                help=hint.help,
            ),
            tok.line,
        )
    expected = _expected(actions)
    help_ = ""
    if tok.type in _KEYWORD_NAMES and "NAME" in actions:
        help_ = f"`{tok.value}` is a keyword here; pick another name (e.g. `{tok.value}_`)"
    elif tok.type == "EQUAL" and "COLON" in actions:
        help_ = 'declare the kind or type first, e.g. `param NAME: prompt = "..."` or `state NAME: str = ""`'
    elif tok.type == "NAME" and "COMMA" in actions:
        help_ = "separate items with `,`"
    if tok.type == "$END":
        return SyntaxFailure(
            syntax_error(
                "E0003",
                f"unexpected end of file, expected {expected}",
                Span.point(tok.line, tok.col),
                "the file ends here",
                help_="something is unfinished: check for a missing `}`, `)`, `]` or value",
            ),
            tok.line,
        )
    return SyntaxFailure(
        syntax_error(
            "E0001",
            f"expected {expected}, found {_found(tok)}",
            tok.span,
            "unexpected here",
            help_=help_,
        ),
        tok.line,
    )

