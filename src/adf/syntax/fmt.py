"""The canonical layout of `.adf` source: `adfc fmt`.

Takes source text; gives the formatted text, or `None` with the syntax
diagnostics when the text does not parse (nothing is formatted then). Only
whitespace changes: every token, comment and string (triple-quoted prompts
included) is kept byte for byte, so the compiled plan is the same but for
source positions.

The layout
- one declaration per line; blank lines between declarations are kept,
  several collapse into one; none at the start or end of a block or file;
- `llm` and `loop` bodies are blocks: one section or statement per line,
  indented by two spaces, `}` on its own line;
- `model`/`train` options stay on one line as `{ a: 1, b: 2 }`, or one per
  line when the source already spread them over several lines; the same
  holds for `[...]`, `(...)` and records (`{name: str}`, written tight);
- single spaces around `=`, `->`, `+`, `*`, comparisons and `and`/`or`, and
  after `,` and `:`; none inside
  brackets, before `,`/`:`/`)`, around `.` and `..`, or before a call's `(`;
- comments keep their place: a comment alone on its line stays alone at the
  current indentation, a trailing comment stays after its code, two spaces
  after it.

Statement boundaries come from the parser's spans, so the layout never
depends on guessing where a declaration starts. Linear in the text.
"""

from __future__ import annotations

import re

import attrs

from adf.diagnostics import Diagnostic
from adf.records import replace
from adf.syntax import ast

INDENT = "  "
_TOKEN = re.compile(
    r'(?P<LONG>"""(?:[^"\\]|\\[\s\S]|"(?!""))*""")'
    r'|(?P<STRING>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<COMMENT>#[^\n]*)"
    r"|(?P<NUMBER>-?[0-9]+(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)?)"
    r"|(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<PUNCT>\.\.|->|=>|==|!=|<=|>=|[{}\[\](),:=+.*<>])"
    r"|(?P<SPACE>[ \t\f\r\n]+)"
)
_OPEN = {"{": "}", "[": "]", "(": ")"}
_TIGHT_AFTER = {"(", "[", ".", ".."}
_TIGHT_BEFORE = {")", "]", ",", ":", ".", ".."}
_BOOLEAN_WORDS = frozenset({"and", "or", "not"})  # `not (a == b)`, not a call


@attrs.frozen
class Token:
    kind: str
    text: str
    line: int
    col: int
    newlines: int  # line breaks between the previous token and this one


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    line, line_start, pending, pos = 1, 0, 0, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # cannot happen for text the parser accepted
            raise ValueError(f"unexpected character at line {line}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "SPACE":
            pending += value.count("\n")
        else:
            found.append(Token(kind, value, line, pos - line_start + 1, pending))
            pending = 0
        breaks = value.count("\n")
        if breaks:
            line += breaks
            line_start = pos + value.rindex("\n") + 1
        pos = match.end()
    return found


def format_source(text: str, file: str = "<input>") -> tuple[str | None, tuple[Diagnostic, ...]]:
    """The formatted text, or None and the syntax errors (labelled with `file`)."""
    from adf.syntax.parser import parse

    program, diagnostics = parse(text, file)
    if program is None:
        return None, tuple(replace(d, file=file) for d in diagnostics)
    return _Printer(tokens(text), _starts(program), _blocks(program)).run(), ()


def _starts(program: ast.Program) -> set[tuple[int, int]]:
    """Where each declaration, loop statement and llm section begins."""
    starts = set()
    for decl in program.decls:
        starts.add((decl.span.line, decl.span.col))
        if isinstance(decl, ast.LoopDecl):
            starts.update((s.span.line, s.span.col) for _, s in ast.loop_statements(decl))
        elif isinstance(decl, ast.LlmDecl):
            starts.update((s.span.line, s.span.col) for s in decl.sections)
            starts.update((s.span.line, s.span.col) for s in decl.tools)
    return starts


def _blocks(program: ast.Program) -> dict[tuple[int, int], str]:
    """Position after which a declaration's block `{` comes -> "options" or "body"."""
    after: dict[tuple[int, int], str] = {}
    for decl in program.decls:
        match decl:
            case ast.ModelDecl():
                after[(decl.model.span.end_line, decl.model.span.end_col)] = "options"
            case ast.TrainDecl():
                after[(decl.span.line, decl.span.col)] = "options"
            case ast.LlmDecl():
                end = decl.model.span if decl.model is not None else decl.returns.span
                after[(end.end_line, end.end_col)] = "body"
            case ast.LoopDecl():
                for loop in ast.nested_loops(decl):
                    end = loop.until.span if loop.until is not None else loop.range_span
                    after[(end.end_line, end.end_col)] = "body"
    return after


@attrs.frozen
class _Group:
    closer: str
    style: str  # "body", "options", "tight"
    multiline: bool


class _Printer:
    """Walks the tokens once, deciding the whitespace before each."""

    def __init__(self, toks: list[Token], starts: set[tuple[int, int]],
                 blocks: dict[tuple[int, int], str]) -> None:
        self.toks = toks
        self.starts = starts
        self.roles = self._roles(blocks)
        self.spread = self._spread()
        self.lines: list[str] = []
        self.current = ""
        self.stack: list[_Group] = []
        self.pending_break = False

    def _roles(self, blocks: dict[tuple[int, int], str]) -> dict[int, str]:
        """Token index of each block `{` -> its style: the first `{` after each anchor."""
        roles: dict[int, str] = {}
        pending: str | None = None
        anchors = dict(blocks)
        for index, tok in enumerate(self.toks):
            if tok.kind == "COMMENT":
                continue
            if pending is not None and tok.text == "{" and tok.kind == "PUNCT":
                roles[index] = pending
            pending = None
            end = (tok.line, tok.col + len(tok.text)) if "\n" not in tok.text else None
            start = (tok.line, tok.col)
            for key in (start, end):
                if key is not None and key in anchors:
                    pending = anchors.pop(key)
        return roles

    def _spread(self) -> set[int]:
        """Openers whose group spans several source lines (or holds a comment)."""
        spread: set[int] = set()
        stack: list[int] = []
        for index, tok in enumerate(self.toks):
            if stack and (tok.newlines or tok.kind == "COMMENT"):
                spread.update(stack)
            if tok.text in _OPEN and tok.kind == "PUNCT":
                stack.append(index)
            elif tok.text in ("}", "]", ")") and tok.kind == "PUNCT" and stack:
                stack.pop()
        return spread

    # --- output -------------------------------------------------------------------
    def _indent(self) -> str:
        return INDENT * sum(1 for g in self.stack if g.multiline)

    def _newline(self, blank: bool = False) -> None:
        if self.current.strip():
            self.lines.append(self.current.rstrip())
        self.current = ""
        if blank and self.lines and self.lines[-1] != "" and not self.lines[-1].endswith(("{", "[", "(")):
            self.lines.append("")

    def _put(self, text: str, space: bool) -> None:
        if not self.current:
            self.current = self._indent() + text
        else:
            self.current += (" " if space else "") + text

    def run(self) -> str:
        previous: Token | None = None
        for index, tok in enumerate(self.toks):
            blank = tok.newlines >= 2
            if tok.kind == "COMMENT":
                if tok.newlines == 0 and self.current.strip():
                    self.current += "  " + tok.text
                else:
                    self._newline(blank)
                    self._put(tok.text, False)
                self.pending_break = True
            elif tok.kind == "PUNCT" and tok.text in ("}", "]", ")") and self.stack \
                    and self.stack[-1].multiline:
                self.stack.pop()
                self._newline()
                self._put(tok.text, False)
                self.pending_break = False
            else:
                start = (tok.line, tok.col) in self.starts and previous is not None
                if start or self.pending_break:
                    self._newline(blank and (start or (previous is not None and previous.kind == "COMMENT")))
                self.pending_break = False
                self._emit(index, tok, previous)
            previous = tok
        self._newline()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def _emit(self, index: int, tok: Token, previous: Token | None) -> None:
        text = tok.text
        if tok.kind == "PUNCT" and text in _OPEN:
            style = self.roles.get(index, "tight")
            empty = index + 1 < len(self.toks) and self.toks[index + 1].text == _OPEN[text]
            multiline = not empty and (style == "body" or index in self.spread)
            tight = text == "{" and style == "tight" and previous is not None and previous.text == "enum"
            self._put(text, False if tight else self._space(previous, tok))
            self.stack.append(_Group(_OPEN[text], style, multiline))
            self.pending_break = multiline
            return
        if tok.kind == "PUNCT" and text in ("}", "]", ")"):
            group = self.stack.pop() if self.stack else None
            padded = group is not None and group.style == "options" and previous is not None \
                and previous.text != "{"
            self._put(text, padded)
            return
        self._put(text, self._space(previous, tok))
        if text == "," and self.stack and self.stack[-1].multiline and self.stack[-1].style != "body":
            self.pending_break = True

    def _space(self, previous: Token | None, tok: Token) -> bool:
        if previous is None or not self.current.strip():
            return False
        prev, cur = previous.text, tok.text
        if previous.kind == "PUNCT" and prev in _TIGHT_AFTER:
            return False
        if previous.kind == "PUNCT" and prev == "{":
            return bool(self.stack) and self.stack[-1].style == "options"
        if tok.kind == "PUNCT" and cur in _TIGHT_BEFORE:
            return False
        return not (tok.kind == "PUNCT" and cur in ("(", "[") and previous.kind == "NAME"
                    and prev not in _BOOLEAN_WORDS)
