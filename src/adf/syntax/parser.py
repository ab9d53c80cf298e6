"""Text -> AST: the `.adf` parser.

Takes source text; gives `(Program | None, diagnostics)`. The program is
None exactly when there are syntax errors (codes E00xx), so later passes
never see a half-parsed file and never produce follow-on errors.

The grammar lives in `adf.lark`. Lark computes its LALR(1) tables once,
ahead of time (`python -m adf.syntax.regenerate` writes `_tables.py`); this
module drives those tables with a small lexer and a shift-reduce loop and
builds the frozen AST of `adf.syntax.ast` directly from the reductions, so
parsing needs neither Lark nor a parse tree at run time. Keywords are
contextual: `input` is a keyword where a declaration may start and an
ordinary name where only a name fits (a record field, an argument).

Syntax errors say what was found and what was expected ("expected `:` or
`=`, found `{`"); common mistakes are named instead (`adf.syntax.hints`:
an unclosed bracket points at its opener, a misspelt keyword gets "did you
mean", `enum[A, B]` and statements of other languages get a sentence). After an error the parser resumes at the next line that
starts a declaration in column 1, so one run reports several errors.
The parser is iterative and refuses nesting deeper than `MAX_DEPTH`, so no
input can exhaust the Python stack in this or a later pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.syntax import _tables, ast, hints

MAX_DEPTH = 200
MAX_SYNTAX_ERRORS = 20

_NAMED = frozenset({"NAME", "INT", "FLOAT", "STRING", "LONG_STRING"})
_DECL_KEYWORDS = hints.DECLARATION_KEYWORDS
_RESUME = re.compile(r"^(?:" + "|".join(_DECL_KEYWORDS) + r")\b", re.M)
# Integer literals must fit a plan's 64-bit (signed) msgpack integers.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INT_DIGITS = 19  # no literal with more digits fits; checked before `int()` (Python's 4300-digit limit)
_OPENERS = frozenset({"LBRACE", "LPAR", "LSQB"})
_CLOSERS = frozenset({"RBRACE", "RPAR", "RSQB"})
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _build_lexer() -> re.Pattern[str]:
    groups = [f"(?P<{name}>{pattern})" for name, pattern in _tables.REGEX_TERMINALS]
    groups += [f"(?P<{name}>{re.escape(text)})" for text, name in _tables.PUNCT.items()]
    return re.compile("|".join(groups))


_LEXER = _build_lexer()
_KEYWORD_NAMES = frozenset(_tables.KEYWORDS.values())
_TERMINAL_TEXT = {name: text for text, name in (*_tables.KEYWORDS.items(), *_tables.PUNCT.items())}


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


class _SyntaxError(Exception):
    def __init__(self, diagnostic: Diagnostic, line: int):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.line = line


def parse(text: str, file: str = "<input>") -> tuple[ast.Program | None, tuple[Diagnostic, ...]]:
    """Parse `text`; `file` only labels the diagnostics."""
    builder = _Builder(file)
    errors: list[Diagnostic] = []
    offset, line = 0, 1
    program: ast.Program | None = None
    while True:
        try:
            result = _parse_from(text, offset, line, builder)
        except _SyntaxError as exc:
            errors.append(exc.diagnostic)
            if len(errors) >= MAX_SYNTAX_ERRORS:
                break
            resume = _resume_point(text, exc.line)
            if resume is None:
                break
            offset, line = resume
            continue
        if not errors:
            assert isinstance(result, ast.Program)
            program = result
        break
    diagnostics = tuple(errors) + tuple(builder.diagnostics)
    if diagnostics:
        return None, tuple(sorted(diagnostics, key=lambda d: d.primary.span))
    return program, ()


def _resume_point(text: str, error_line: int) -> tuple[int, int] | None:
    """The offset and line number of the first declaration line after `error_line`."""
    pos = 0
    for _ in range(error_line):
        nl = text.find("\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    match = _RESUME.search(text, pos)
    if match is None:
        return None
    return match.start(), text.count("\n", 0, match.start()) + 1


def _tokens(text: str, offset: int, line: int) -> Any:
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
            raise _lex_error(text, pos, line, col)
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


def _lex_error(text: str, pos: int, line: int, col: int) -> _SyntaxError:
    char = text[pos]
    long_start = pos if text.startswith('"""', pos) else pos - 2
    if char == '"' and long_start >= 0 and text.startswith('"""', long_start):
        # `"""abc` with no closer lexes as `""` then `"abc`: point at the opener
        start_col = col - (pos - long_start)
        diagnostic = _syntax(
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
        diagnostic = _syntax(
            "E0005",
            "unterminated string",
            span,
            "this string is never closed",
            help_='close it with `"` on the same line, or use `"""` for text over several lines',
        )
    else:
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        diagnostic = _syntax(
            "E0002",
            f"unexpected character `{shown}`",
            Span.point(line, col),
            "not part of the language",
            help_="strings go in double quotes; comments start with `#`",
        )
    return _SyntaxError(diagnostic, line)


def _syntax(
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


def _parse_error(
    tok: Tok, actions: dict[str, int], prev: Tok | None, openers: list[Tok], prev_first: bool
) -> _SyntaxError:
    hint = hints.explain(tok, actions, prev, openers, prev_first)
    if hint is not None:
        return _SyntaxError(
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
        return _SyntaxError(
            _syntax(
                "E0003",
                f"unexpected end of file, expected {expected}",
                Span.point(tok.line, tok.col),
                "the file ends here",
                help_="something is unfinished: check for a missing `}`, `)`, `]` or value",
            ),
            tok.line,
        )
    return _SyntaxError(
        _syntax(
            "E0001",
            f"expected {expected}, found {_found(tok)}",
            tok.span,
            "unexpected here",
            help_=help_,
        ),
        tok.line,
    )


def _parse_from(text: str, offset: int, line: int, builder: _Builder) -> Any:
    states = _tables.STATES
    rules = _tables.RULES
    keywords = _tables.KEYWORDS
    callbacks = builder.callbacks
    end_state = _tables.END
    state_stack: list[int] = [_tables.START]
    # Each value entry: (value, start_line, start_col, end_line, end_col).
    value_stack: list[tuple[Any, int, int, int, int]] = []
    openers: list[Tok] = []  # brackets still open, for "unclosed `{`" (adf.syntax.hints)
    prev: Tok | None = None
    prev_first = False  # whether `prev` is the first token on its line
    for tok in _tokens(text, offset, line):
        if tok.type == "NAME":
            kw = keywords.get(tok.value)
            if kw is not None and kw in states[state_stack[-1]]:
                tok.type = kw
        while True:
            actions = states[state_stack[-1]]
            action = actions.get(tok.type)
            if action is None:
                raise _parse_error(tok, actions, prev, openers, prev_first)
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
                    raise _SyntaxError(
                        _syntax(
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


class _Kind:
    __slots__ = ("kind", "options", "span")

    def __init__(self, kind: ast.ParamKindName, options: tuple[ast.Option, ...], span: Span):
        self.kind = kind
        self.options = options
        self.span = span


class _Mod:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Wrap:
    """A tagged tuple of values (argument lists, option blocks, parts, clauses)."""

    __slots__ = ("items", "tag")

    def __init__(self, tag: str, items: tuple[Any, ...]):
        self.tag = tag
        self.items = items


def _ident(tok: Tok) -> ast.Ident:
    return ast.Ident(tok.value, tok.span)


def _wrapped(kept: list[Any], tag: str) -> tuple[Any, ...]:
    for item in kept:
        if isinstance(item, _Wrap) and item.tag == tag:
            return item.items
    return ()


class _Builder:
    """Reduction callbacks: each takes the kept children and the rule's span."""

    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.callbacks: dict[str, Callable[[list[Any], Span], Any]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("on_")
        }

    # --- literals ---------------------------------------------------------
    def on_string(self, kept: list[Any], span: Span) -> ast.StrLit:
        tok: Tok = kept[0]
        quote = 3 if tok.type == "LONG_STRING" else 1
        body = tok.value[quote:-quote]
        return ast.StrLit(self._unescape(body, tok, quote), span, tok.value)

    def _unescape(self, body: str, tok: Tok, quote: int) -> str:
        if "\\" not in body and not _has_surrogate(body):
            return body
        out: list[str] = []
        i = 0
        while i < len(body):
            char = body[i]
            if char != "\\":
                if _is_surrogate(char):
                    self._bad_char(tok, quote + i, f"U+{ord(char):04X}")
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
                    self._lone_surrogate(tok, quote + i, body[i : i + 6])
                out.append(chr(code))
                i += 6
                continue
            if nxt == "\n":  # a backslash at the end of a line joins it with the next
                i += 2
                continue
            line, col = _position_in(tok, quote + i)
            self.diagnostics.append(
                _syntax(
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

    def _lone_surrogate(self, tok: Tok, index: int, text: str) -> None:
        line, col = _position_in(tok, index)
        self.diagnostics.append(
            _syntax(
                "E0004",
                f"the escape `{text}` is half of a UTF-16 surrogate pair, not a character",
                Span(line, col, line, col + len(text)),
                "a lone surrogate",
                help_="write the character itself, or both halves of the pair (e.g. `\\ud83d\\ude00`)",
            )
        )

    def _bad_char(self, tok: Tok, index: int, shown: str) -> None:
        line, col = _position_in(tok, index)
        self.diagnostics.append(
            _syntax(
                "E0002",
                f"unexpected character `{shown}`",
                Span.point(line, col),
                "a lone surrogate is not text",
                help_="the source must be valid Unicode text",
            )
        )

    def _int(self, tok: Tok) -> int:
        """The value of an INT token; 0 (with an E0008) when it does not fit 64 bits."""
        digits = tok.value.lstrip("-").lstrip("0")
        value = int(tok.value) if len(digits) <= _INT_DIGITS else None
        if value is None or not INT_MIN <= value <= INT_MAX:
            shown = tok.value if len(tok.value) <= 24 else tok.value[:20] + "..."
            self.diagnostics.append(
                _syntax(
                    "E0008",
                    f"the integer `{shown}` is out of range",
                    tok.span,
                    f"{len(digits)} digits",
                    help_=f"integers must lie between {INT_MIN} and {INT_MAX}",
                )
            )
            return 0
        return value

    def on_str_lit(self, kept: list[Any], span: Span) -> ast.StrLit:
        lit: ast.StrLit = kept[0]
        return lit

    def on_int_lit(self, kept: list[Any], span: Span) -> ast.IntLit:
        return ast.IntLit(self._int(kept[0]), span)

    def on_float_lit(self, kept: list[Any], span: Span) -> ast.FloatLit:
        return ast.FloatLit(float(kept[0].value), span)

    def on_true_lit(self, kept: list[Any], span: Span) -> ast.BoolLit:
        return ast.BoolLit(True, span)

    def on_false_lit(self, kept: list[Any], span: Span) -> ast.BoolLit:
        return ast.BoolLit(False, span)

    def on_list_lit(self, kept: list[Any], span: Span) -> ast.ListLit:
        return ast.ListLit(tuple(kept), span)

    def on_record_lit(self, kept: list[Any], span: Span) -> ast.RecordLit:
        return ast.RecordLit(tuple(kept), span)

    def on_record_field(self, kept: list[Any], span: Span) -> tuple[ast.Ident, ast.Expr]:
        return (_ident(kept[0]), kept[1])

    # --- options --------------------------------------------------------------
    def on_option_block(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("options", tuple(kept))

    def on_option(self, kept: list[Any], span: Span) -> ast.Option:
        return ast.Option(_ident(kept[0]), kept[1], span)

    def on_env_ref(self, kept: list[Any], span: Span) -> ast.EnvCall:
        return ast.EnvCall(kept[0], span)

    def on_name_value(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    # --- declarations ------------------------------------------------------------
    def on_start(self, kept: list[Any], span: Span) -> ast.Program:
        return ast.Program(tuple(kept))

    def on_model_decl(self, kept: list[Any], span: Span) -> ast.ModelDecl:
        return ast.ModelDecl(_ident(kept[0]), kept[1], _wrapped(kept, "options"), span)

    def on_train_decl(self, kept: list[Any], span: Span) -> ast.TrainDecl:
        return ast.TrainDecl(_wrapped(kept, "options"), span)

    def on_param_decl(self, kept: list[Any], span: Span) -> ast.ParamDecl:
        kind: _Kind = kept[1]
        frozen = False
        description: ast.StrLit | None = None
        for item in kept[2:-1]:
            if isinstance(item, _Mod):
                frozen = item.name == "frozen"
            elif isinstance(item, ast.StrLit):
                description = item
        return ast.ParamDecl(
            _ident(kept[0]), kind.kind, kind.span, kind.options, frozen, description, kept[-1], span
        )

    def on_prompt_kind(self, kept: list[Any], span: Span) -> _Kind:
        return _Kind("prompt", (), span)

    def on_demos_kind(self, kept: list[Any], span: Span) -> _Kind:
        return _Kind("demos", tuple(kept), span)

    def on_frozen(self, kept: list[Any], span: Span) -> _Mod:
        return _Mod("frozen")

    def on_trainable(self, kept: list[Any], span: Span) -> _Mod:
        return _Mod("trainable")

    def _data(self, role: Any, kept: list[Any], span: Span) -> ast.DataDecl:
        field = _wrapped(kept, "from")
        return ast.DataDecl(role, _ident(kept[0]), kept[1], field[0] if field else None, span)

    def on_input_decl(self, kept: list[Any], span: Span) -> ast.DataDecl:
        return self._data("input", kept, span)

    def on_target_decl(self, kept: list[Any], span: Span) -> ast.DataDecl:
        return self._data("target", kept, span)

    def on_from_clause(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("from", (kept[0],))

    # --- types ------------------------------------------------------------------
    def on_named_type(self, kept: list[Any], span: Span) -> ast.NamedType:
        return ast.NamedType(kept[0].value, span)

    def on_generic_type(self, kept: list[Any], span: Span) -> ast.GenericType:
        return ast.GenericType(_ident(kept[0]), kept[1], span)

    def on_enum_type(self, kept: list[Any], span: Span) -> ast.EnumType:
        return ast.EnumType(tuple(kept), span)

    def on_enum_item(self, kept: list[Any], span: Span) -> ast.Ident:
        item = kept[0]
        if isinstance(item, Tok):
            return _ident(item)
        assert isinstance(item, ast.StrLit)
        return ast.Ident(item.value, item.span)

    def on_record_type(self, kept: list[Any], span: Span) -> ast.RecordType:
        return ast.RecordType(tuple(kept), span)

    def on_type_field(self, kept: list[Any], span: Span) -> tuple[ast.Ident, ast.TypeExpr]:
        return (_ident(kept[0]), kept[1])

    # --- functions --------------------------------------------------------------
    def on_llm_decl(self, kept: list[Any], span: Span) -> ast.LlmDecl:
        params = _wrapped(kept, "args")
        rest = [k for k in kept[1:] if not isinstance(k, _Wrap)]
        returns = rest[0]
        using = _wrapped(kept, "using")
        sections = tuple(k for k in rest[1:] if isinstance(k, ast.Section))
        tools = tuple(k for k in rest[1:] if isinstance(k, ast.ToolsSection))
        return ast.LlmDecl(
            _ident(kept[0]), params, returns, using[0] if using else None, sections, span,
            tuple(using[1:]), tools,
        )

    def on_using(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("using", (_ident(kept[0]), *kept[1:]))

    def on_arg_list(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("args", tuple(kept))

    def on_arg_decl(self, kept: list[Any], span: Span) -> ast.ArgDecl:
        return ast.ArgDecl(_ident(kept[0]), kept[1], span)

    def on_section(self, kept: list[Any], span: Span) -> ast.Section:
        return ast.Section(_ident(kept[0]), kept[1].items, span)

    def on_tools_section(self, kept: list[Any], span: Span) -> ast.ToolsSection:
        return ast.ToolsSection(tuple(kept), span)

    def on_tool_entry(self, kept: list[Any], span: Span) -> ast.ToolEntry:
        return ast.ToolEntry(_ident(kept[0]), kept[1] if len(kept) > 1 else None, span)

    def on_part_list(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("parts", tuple(kept))

    def on_part_single(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("parts", (kept[0],))

    def on_part_ref(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    def on_part_text(self, kept: list[Any], span: Span) -> ast.StrLit:
        lit: ast.StrLit = kept[0]
        return lit

    def on_fn_decl(self, kept: list[Any], span: Span) -> ast.FnDecl:
        params = _wrapped(kept, "args")
        rest = [k for k in kept[1:] if not isinstance(k, _Wrap)]
        return ast.FnDecl(_ident(kept[0]), params, rest[0], rest[1], span)

    def on_std_ref(self, kept: list[Any], span: Span) -> ast.StdRef:
        return ast.StdRef(kept[0], span)

    def on_py_ref(self, kept: list[Any], span: Span) -> ast.PyRef:
        return ast.PyRef(kept[0], span)

    def on_dotted(self, kept: list[Any], span: Span) -> str:
        return ".".join(tok.value for tok in kept)

    # --- graph ------------------------------------------------------------------
    def on_node_decl(self, kept: list[Any], span: Span) -> ast.NodeDecl:
        return ast.NodeDecl(_ident(kept[0]), kept[1], span)

    def on_state_decl(self, kept: list[Any], span: Span) -> ast.StateDecl:
        return ast.StateDecl(_ident(kept[0]), kept[1], kept[2], span)

    def on_assign(self, kept: list[Any], span: Span) -> ast.Assign:
        return ast.Assign(_ident(kept[0]), kept[1], span)

    def on_const_decl(self, kept: list[Any], span: Span) -> ast.ConstDecl:
        return ast.ConstDecl(_ident(kept[0]), self._int(kept[1]), span)

    def on_until(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("until", (_ident(kept[0]),))

    def on_loop_decl(self, kept: list[Any], span: Span) -> ast.LoopDecl:
        start, end = kept[1], kept[2]
        range_span = Span(start.line, start.col, end.end_line, end.end_col)
        names = tuple(_ident(tok) if tok.type == "NAME" else None for tok in (start, end))
        until = _wrapped(kept, "until")
        body = tuple(k for k in kept[3:] if not isinstance(k, _Wrap))
        bounds = [_loop_bound(tok) if tok.type == "INT" else 0 for tok in (start, end)]
        if None in bounds:
            self.diagnostics.append(
                _syntax(
                    "E0302",
                    f"loop `{kept[0].value}` has a bound far beyond the unrolling limit",
                    range_span,
                    "too many steps",
                    help_="use a smaller bound; a few steps are usually enough for multi-hop workflows",
                )
            )
        first, last = (b if b is not None else 0 for b in bounds)
        return ast.LoopDecl(_ident(kept[0]), first, last, range_span, body, span,
                            (names[0], names[1]), until[0] if until else None)

    def on_loss_decl(self, kept: list[Any], span: Span) -> ast.LossDecl:
        return ast.LossDecl(_ident(kept[0]), kept[1], _wrapped(kept, "call_args"), span)

    def on_objective_decl(self, kept: list[Any], span: Span) -> ast.ObjectiveDecl:
        return ast.ObjectiveDecl(_ident(kept[0]), tuple(kept[1:]), span)

    def on_weighted(self, kept: list[Any], span: Span) -> ast.WeightedLoss:
        weight: ast.IntLit | ast.FloatLit = kept[0]
        return ast.WeightedLoss(float(weight.value), weight.span, _ident(kept[1]), span)

    def on_unweighted(self, kept: list[Any], span: Span) -> ast.WeightedLoss:
        return ast.WeightedLoss(1.0, None, _ident(kept[0]), span)

    def on_output_decl(self, kept: list[Any], span: Span) -> ast.OutputDecl:
        return ast.OutputDecl(_ident(kept[0]), span)

    # --- expressions --------------------------------------------------------------
    def on_add(self, kept: list[Any], span: Span) -> ast.Add:
        return ast.Add(tuple(kept), span)

    def on_field_access(self, kept: list[Any], span: Span) -> ast.FieldAccess:
        return ast.FieldAccess(kept[0], _ident(kept[1]), span)

    def on_if_expr(self, kept: list[Any], span: Span) -> ast.IfExpr:
        return ast.IfExpr(kept[0], kept[1], kept[2], span)

    def on_match_expr(self, kept: list[Any], span: Span) -> ast.MatchExpr:
        return ast.MatchExpr(kept[0], tuple(kept[1:]), span)

    def on_match_arm(self, kept: list[Any], span: Span) -> ast.MatchArm:
        return ast.MatchArm(kept[0], kept[1], span)

    def on_case_name(self, kept: list[Any], span: Span) -> ast.Ident:
        return _ident(kept[0])

    def on_case_text(self, kept: list[Any], span: Span) -> ast.Ident:
        text: ast.StrLit = kept[0]
        return ast.Ident(text.value, text.span)

    def on_ref(self, kept: list[Any], span: Span) -> ast.Ref:
        return ast.Ref(kept[0].value, span)

    def on_call(self, kept: list[Any], span: Span) -> ast.Call:
        return ast.Call(_ident(kept[0]), _wrapped(kept, "call_args"), span)

    def on_call_args(self, kept: list[Any], span: Span) -> _Wrap:
        return _Wrap("call_args", tuple(kept))

    def on_pos_arg(self, kept: list[Any], span: Span) -> ast.Arg:
        return ast.Arg(None, kept[0], span)

    def on_kw_arg(self, kept: list[Any], span: Span) -> ast.Arg:
        return ast.Arg(_ident(kept[0]), kept[1], span)


def _loop_bound(tok: Tok) -> int | None:
    """A loop bound's value; None when it does not fit 64 bits."""
    if len(tok.value.lstrip("-").lstrip("0")) > _INT_DIGITS:
        return None
    value = int(tok.value)
    return value if INT_MIN <= value <= INT_MAX else None


def _is_hex4(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _position_in(tok: Tok, index: int) -> tuple[int, int]:
    """Line and column of character `index` of the token's text."""
    before = tok.value[:index]
    newlines = before.count("\n")
    if newlines == 0:
        return tok.line, tok.col + index
    return tok.line + newlines, index - before.rfind("\n")
