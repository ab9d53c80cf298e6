"""Friendly syntax errors: the common mistakes, named.

Takes what the parser knows when it fails (the token it could not use, the
token before it, the brackets still open, the terminals it would have
accepted); gives a `Hint` (code, message, span, label, help) for a mistake
people make often, or None, and the parser then says "expected X, found Y".
The mistakes:

- the file ends (or a closer comes) while a `{`, `(` or `[` is still open:
  point at the opener, not at the end of the file;
- a misspelt keyword at the start of a declaration (`nod`, `parm`, `lop`):
  "did you mean `node`?";
- `enum[A, B]`: enum variants go in braces;
- a bare name where only a string fits (`model m = local`): quote it;
- a closing bracket that closes nothing;
- statements other languages have and adf does not (`import`, `def`, `for`,
  `while`, `return`, `let`...): a sentence saying so and what to write.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from adf.diagnostics import Span
from adf.syntax.records import Hint as Hint

DECLARATION_KEYWORDS = (
    "use",
    "model",
    "train",
    "param",
    "input",
    "target",
    "llm",
    "fn",
    "node",
    "state",
    "loop",
    "const",
    "loss",
    "output",
)
_OPENERS = {"LBRACE": "{", "LPAR": "(", "LSQB": "["}
_CLOSERS = {"RBRACE": "}", "RPAR": ")", "RSQB": "]"}
_PAIRS = {"LBRACE": "RBRACE", "LPAR": "RPAR", "LSQB": "RSQB"}

# statements of other languages -> what adf has instead
_FOREIGN = {
    "import": "adf has no `import`; call another .adf file's functions after `use \"file.adf\" as NAME`, or bind Python with `fn NAME(ARGS) -> TYPE = py \"module:function\"`",
    "from": "adf has no `import`; call another .adf file's functions after `use \"file.adf\" as NAME`, or bind Python with `fn NAME(ARGS) -> TYPE = py \"module:function\"`",
    "def": "adf has no `def`; declare an `llm` (a prompt) or bind Python with `fn NAME(ARGS) -> TYPE = py \"module:function\"`",
    "function": "adf has no `function`; declare an `llm` or an `fn` bound to Python",
    "for": "adf has no `for` statement; repeat steps with `loop i in 0..N { node ... }`",
    "while": "adf has no `while` statement; repeat steps with `loop i in 0..N { node ... }`",
    "return": "adf has no `return`; mark the values to report with `output NAME`",
    "let": "adf has no `let`; name a computed value with `node NAME = ...`",
    "var": "adf has no `var`; name a computed value with `node NAME = ...`",
    "const": "adf has no `const`; name a computed value with `node NAME = ...`",
    "class": "adf has no classes; write a record type inline, e.g. `-> {name: str, age: int}`",
    "struct": "adf has no structs; write a record type inline, e.g. `-> {name: str, age: int}`",
    "print": "adf has no `print`; mark the values to report with `output NAME`",
}


_LITERALS = {"INT": "the number", "FLOAT": "the number", "TRUE": "the boolean", "FALSE": "the boolean"}


class TokenLike(Protocol):
    type: str
    value: str
    line: int
    col: int

    @property
    def span(self) -> Span: ...


def explain(
    tok: TokenLike,
    expected: Collection[str],
    prev: TokenLike | None,
    openers: Sequence[TokenLike],
    at_statement_start: bool,
) -> Hint | None:
    """A named mistake for a parse failure at `tok`, or None."""
    if prev is not None and at_statement_start and prev.type == "NAME":
        foreign = _FOREIGN.get(prev.value)
        if foreign is not None and tok.type != "EQUAL":
            return Hint(
                "E0001",
                f"`{prev.value}` is not part of the language",
                prev.span,
                "not an adf keyword",
                help=foreign,
            )
        import difflib  # only a failing parse pays for it

        close = difflib.get_close_matches(prev.value, DECLARATION_KEYWORDS, n=1, cutoff=0.6)
        if close and tok.type == "NAME":
            return Hint(
                "E0001",
                f"unknown keyword `{prev.value}`",
                prev.span,
                "not a keyword",
                help=f"did you mean `{close[0]}`?",
            )
    if tok.type == "COMPARE" and "COMPARE" not in expected and "AND" in expected:
        return Hint(
            "E0001",
            "comparisons do not chain",
            tok.span,
            "a second comparison",
            help="compare two values at a time and join them: `low < x and x < high`",
        )
    if prev is not None and prev.type == "ENUM" and tok.type == "LSQB":
        return Hint(
            "E0001",
            "enum variants go in braces, not brackets",
            tok.span,
            "expected `{`",
            help="write `enum{A, B}` (brackets are for `list[T]`)",
        )
    terminals = {t for t in expected if t.isupper() or t.startswith("__") or t == "$END"}
    if tok.type == "NAME" and terminals and terminals <= {"STRING", "LONG_STRING"}:
        return Hint(
            "E0001",
            f"expected a string, found the name `{tok.value}`",
            tok.span,
            "not quoted",
            help=f'write it in quotes: `"{tok.value}"`',
        )
    if (
        prev is not None
        and prev.type == "COLON"
        and tok.type in _LITERALS
        and terminals
        and terminals <= {"LSQB", "NAME", "STRING", "LONG_STRING"}
    ):
        return Hint(
            "E0001",
            f"an llm section takes text or a list of parts, found {_LITERALS[tok.type]} `{tok.value}`",
            tok.span,
            "not text",
            help="an option of the call goes with its model: `using m(temperature: 0)`; "
            "an option of every call in the `model` declaration",
        )
    if tok.type in _CLOSERS and not openers:
        return Hint(
            "E0001",
            f"unmatched `{tok.value}`",
            tok.span,
            "nothing to close here",
            help="remove it, or add the opening bracket it belongs to",
        )
    new_declaration = tok.col == 1 and tok.value in DECLARATION_KEYWORDS
    if openers and (
        tok.type == "$END"
        or new_declaration
        or (tok.type in _CLOSERS and _PAIRS[openers[-1].type] != tok.type)
    ):
        opener = openers[-1]
        want = _CLOSERS[_PAIRS[opener.type]]
        if tok.type == "$END":
            found = "the file ends"
        elif new_declaration:
            found = "a new declaration starts"
        else:
            found = f"`{tok.value}` closes something else"
        return Hint(
            "E0003" if tok.type == "$END" else "E0001",
            f"unclosed `{_OPENERS[opener.type]}`",
            opener.span,
            "opened here",
            help=f"close it with `{want}`",
            secondary=((Span.point(tok.line, tok.col), f"{found} before it is closed"),),
        )
    return None
