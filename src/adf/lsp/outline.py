"""The shape of a document: its symbol tree, foldable regions and semantic tokens.

Takes a parsed `Program` (and its `Index` for tokens); gives plain records
with `Span`s: `Outline` entries (a name, its kind, the declaration's span and
children: an llm's or fn's arguments, a loop's nodes), `Fold`s (multi-line
declarations, triple-quoted strings, runs of comment lines) and `Token`s
(every name, classified by what it declares or uses). The server turns them
into LSP types.
"""

from __future__ import annotations

from typing import Literal, assert_never

import attrs

from adf.analysis.suppress import comments
from adf.diagnostics import Span
from adf.lsp.index import Index, SymbolKind
from adf.syntax import ast

# Semantic token types, in the order announced to the client (the legend).
TOKEN_TYPES = ("class", "property", "parameter", "function", "variable", "event")
TOKEN_MODIFIERS = ("declaration", "readonly")
_TOKEN_TYPE: dict[SymbolKind, str] = {
    "model": "class",
    "param": "property",
    "input": "parameter",
    "target": "parameter",
    "arg": "parameter",
    "llm": "function",
    "fn": "function",
    "node": "variable",
    "state": "variable",
    "loopvar": "variable",
    "loss": "event",
    "const": "variable",
    "item": "variable",
    "use": "class",
}


@attrs.frozen
class Outline:
    name: str
    kind: SymbolKind
    span: Span
    name_span: Span
    detail: str = ""
    children: tuple[Outline, ...] = ()


@attrs.frozen
class Fold:
    start: int  # 1-based lines
    end: int
    kind: Literal["region", "comment"]


@attrs.frozen
class Token:
    line: int
    col: int
    length: int
    type: int
    modifiers: int


def outline(program: ast.Program) -> list[Outline]:
    found: list[Outline] = []
    for decl in program.decls:
        match decl:
            case ast.LlmDecl() | ast.FnDecl():
                args = tuple(
                    Outline(p.name.name, "arg", p.span, p.name.span) for p in decl.params
                )
                kind: SymbolKind = "llm" if isinstance(decl, ast.LlmDecl) else "fn"
                detail: str = kind
                if isinstance(decl, ast.LlmDecl) and decl.tools:
                    names = ", ".join(e.name.name for t in decl.tools for e in t.entries)
                    detail = f"llm tools [{names}]"
                found.append(Outline(decl.name.name, kind, decl.span, decl.name.span, detail, args))
            case ast.LoopDecl():
                found.append(_loop_outline(decl))
            case ast.DataDecl():
                found.append(Outline(decl.name.name, decl.role, decl.span, decl.name.span, decl.role))
            case ast.ParamDecl():
                detail = f"param {decl.kind}" + (" frozen" if decl.frozen else "")
                found.append(Outline(decl.name.name, "param", decl.span, decl.name.span, detail))
            case ast.ModelDecl() | ast.NodeDecl() | ast.StateDecl() | ast.LossDecl() | ast.ObjectiveDecl():
                kind = _DECL_KIND[type(decl)]
                found.append(Outline(decl.name.name, kind, decl.span, decl.name.span, kind))
            case ast.ConstDecl():
                found.append(Outline(decl.name.name, "const", decl.span, decl.name.span, f"const {decl.value}"))
            case ast.UseDecl():
                found.append(Outline(decl.alias.name, "use", decl.span, decl.alias.span,
                                     f"use {decl.path.raw}"))
            case ast.TrainDecl() | ast.Assign() | ast.OutputDecl():
                pass
            case _:
                assert_never(decl)
    return found


_DECL_KIND: dict[type, SymbolKind] = {
    ast.ModelDecl: "model",
    ast.NodeDecl: "node",
    ast.StateDecl: "state",
    ast.LossDecl: "loss",
    ast.ObjectiveDecl: "loss",
}


def folds(program: ast.Program, source: str) -> list[Fold]:
    found = [
        Fold(d.span.line, d.span.end_line, "region")
        for d in program.decls
        if d.span.end_line > d.span.line
    ]
    found += [Fold(loop.span.line, loop.span.end_line, "region")  # nested loops fold too
              for d in program.decls if isinstance(d, ast.LoopDecl)
              for loop in list(ast.nested_loops(d))[1:] if loop.span.end_line > loop.span.line]
    for decl in program.decls:
        if isinstance(decl, ast.ParamDecl) and isinstance(decl.value, ast.StrLit):
            span = decl.value.span
            if span.end_line > span.line and span.line > decl.span.line:
                found.append(Fold(span.line, span.end_line, "region"))
    lines = source.split("\n")
    run: list[int] = []
    for line, col, _ in comments(source):
        if lines[line - 1][: col - 1].strip():
            continue  # a comment after code folds with the code
        if run and line == run[-1] + 1:
            run.append(line)
            continue
        if len(run) > 1:
            found.append(Fold(run[0], run[-1], "comment"))
        run = [line]
    if len(run) > 1:
        found.append(Fold(run[0], run[-1], "comment"))
    return sorted(found, key=lambda f: (f.start, f.end))


def tokens(index: Index, program: ast.Program) -> list[Token]:
    frozen = {
        d.name.name for d in program.decls if isinstance(d, ast.ParamDecl) and d.frozen
    }
    found = []
    for occurrence in index.occurrences:
        span = occurrence.span
        if span.end_line != span.line:
            continue
        modifiers = 1 if occurrence.is_definition else 0
        if occurrence.kind == "param" and occurrence.name in frozen:
            modifiers |= 2
        kind = TOKEN_TYPES.index(_TOKEN_TYPE[occurrence.kind])
        found.append(Token(span.line, span.col, span.end_col - span.col, kind, modifiers))
    return found


def _loop_outline(decl: ast.LoopDecl) -> Outline:
    """A loop with its body's nodes and the loops nested in it, in source order."""
    body = tuple(
        _loop_outline(s) if isinstance(s, ast.LoopDecl)
        else Outline(s.name.name, "node", s.span, s.name.span, "node")
        for s in decl.body if not isinstance(s, ast.Assign)
    )
    detail = f"loop {decl.start}..{decl.end}"
    return Outline(decl.name.name, "loopvar", decl.span, decl.name.span, detail, body)
