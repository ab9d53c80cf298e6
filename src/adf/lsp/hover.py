"""Hover text: what a name is, its type, and for params whether training can change it.

Takes an `Analysis` and the occurrence under the cursor; gives Markdown.
For a param the text says whether it is on a gradient path (and if not,
the warning that says why), and, when the file has a lock file beside it,
the trained value next to the value in the source. Declarations are shown
as written: the hover quotes the source text of a declaration's head.
"""

from __future__ import annotations

import os

from adf.diagnostics import Span
from adf.lsp.analysis import Analysis, Semantics
from adf.lsp.index import Occurrence
from adf.syntax import ast

PREVIEW = 400  # characters of a prompt shown in a hover


def hover_text(analysis: Analysis, semantics: Semantics, occurrence: Occurrence) -> str | None:
    decl = semantics.index.decls.get(occurrence.key)
    if decl is None:
        return None
    lines = analysis.text.split("\n")
    head = _head(decl, lines)
    parts = [f"```adf\n{head}\n```"]
    match decl:
        case ast.ArgDecl():
            parts.append(f"argument of `{occurrence.key[0]}`")
        case ast.ParamDecl():
            parts += _param(analysis, decl, lines)
        case ast.NodeDecl() | ast.StateDecl() | ast.LoopDecl():
            typed = semantics.typing.values.get(decl.name.name) if semantics.typing else None
            if typed is not None:
                parts.append(f"type: `{typed}`")
            elif isinstance(decl, ast.NodeDecl) and isinstance(decl.value, ast.Call):
                parts += _workflow(analysis, semantics, decl.value.func.name)
        case ast.UseDecl():
            parts += _workflow(analysis, semantics, decl.alias.name)
        case _:
            pass
    parts += _warnings(analysis, occurrence.key[1], decl_span(decl))
    return "\n\n".join(parts)


def used_hover(analysis: Analysis, semantics: Semantics, occurrence: Occurrence) -> str | None:
    """`r.name(...)`: the function's head as written in the used file, and where."""
    if "." not in occurrence.name:
        return None
    from adf.lsp.crossfile import used_declaration

    used = used_declaration(semantics.program, analysis.path, occurrence.name)
    if used is None:
        return None
    head = _head(used.decl, used.text.split("\n"))
    where = os.path.relpath(used.path, os.path.dirname(analysis.path) or ".")
    return f"```adf\n{head}\n```\n\ndeclared in `{where}`, called here as `{occurrence.name}`"


def _workflow(analysis: Analysis, semantics: Semantics, alias: str) -> list[str]:
    """For a used file: its whole workflow as one function (`node v = r(...)`)."""
    from adf.lsp.crossfile import used_workflow

    found = used_workflow(semantics.program, analysis.path, alias)
    if found is None:
        return []
    where = os.path.relpath(found.path, os.path.dirname(analysis.path) or ".")
    return [f"workflow of `{where}`, called as one function:\n\n```adf\n{found.signature}\n```"]


def std_hover(program: ast.Program, line: int, col: int) -> tuple[str, Span] | None:
    """The signature of the `std.*` function or metric under the cursor, with its span."""
    from adf.stdlib.signatures import FUNCTIONS, METRICS

    for decl in program.decls:
        ref = (
            decl.target if isinstance(decl, ast.FnDecl)
            else decl.metric if isinstance(decl, ast.LossDecl)
            else None
        )
        if not isinstance(ref, ast.StdRef):
            continue
        span = ref.span
        if not (span.line == line and span.col <= col <= span.end_col):
            continue
        if ref.name in FUNCTIONS:
            params, result = FUNCTIONS[ref.name]
            signature = ", ".join(f"{name}: {type_}" for name, type_ in params)
            return f"```adf\n{ref.name}({signature}) -> {result}\n```\n\nstandard function", span
        if ref.name in METRICS:
            options = "".join(f", {name}: {type_}" for name, type_ in METRICS[ref.name].items())
            text = f"```adf\n{ref.name}(pred, target{options})\n```\n\nstandard metric: a score in [0, 1]"
            return text, span
    return None


def decl_span(decl: ast.Decl | ast.ArgDecl) -> Span:
    return decl.span


def source_text(lines: list[str], span: Span) -> str:
    """The source text a span covers (1-based, end-exclusive columns)."""
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1 : span.end_col - 1]
    first = lines[span.line - 1][span.col - 1 :]
    middle = lines[span.line : span.end_line - 1]
    last = lines[span.end_line - 1][: span.end_col - 1] if span.end_line <= len(lines) else ""
    return "\n".join([first, *middle, last])


def _head(decl: ast.Decl | ast.ArgDecl, lines: list[str]) -> str:
    """A declaration as written, without an llm's body or a long value."""
    match decl:
        case ast.LlmDecl():
            text = source_text(lines, decl.span)
            return text.split("{", 1)[0].rstrip()
        case ast.ParamDecl():
            text = source_text(lines, Span(decl.span.line, decl.span.col, *_before(decl.value)))
            return text.rstrip().rstrip("=").rstrip()
        case ast.LoopDecl():
            return source_text(lines, Span(decl.span.line, decl.span.col, *_end(decl.range_span)))
        case ast.NodeDecl() | ast.StateDecl() | ast.LossDecl() | ast.ModelDecl():
            text = source_text(lines, decl.span)
            return text if len(text) <= PREVIEW else text[:PREVIEW] + " …"
        case _:
            return source_text(lines, decl.span)


def _before(expr: ast.Expr) -> tuple[int, int]:
    return expr.span.line, expr.span.col


def _end(span: Span) -> tuple[int, int]:
    return span.end_line, span.end_col


def _param(analysis: Analysis, decl: ast.ParamDecl, lines: list[str]) -> list[str]:
    parts: list[str] = []
    if decl.description is not None:
        parts.append(decl.description.value)
    value = source_text(lines, decl.value.span)
    parts.append("value in the source:\n\n" + _quote(value))
    reach = analysis.reachability
    name = decl.name.name
    if decl.frozen:
        parts.append("**frozen**: training never changes it")
    elif reach is not None and name in reach.learning:
        parts.append("**on a gradient path**: feedback from a loss reaches it, so training can improve it")
    elif reach is not None:
        parts.append("**not on a gradient path**: no loss sends feedback to it")
    trained = _trained_value(analysis.path, name)
    if trained is not None:
        parts.append("trained value (lock file):\n\n" + _quote(trained))
    return parts


def _warnings(analysis: Analysis, name: str, span: Span) -> list[str]:
    """The warnings reported on this declaration's line: the 'why' behind the facts above."""
    return [
        f"⚠ {d.code}: {d.message}"
        for d in analysis.diagnostics
        if d.file == analysis.path
        and not d.is_error
        and d.primary.span.line == span.line
        and f"`{name}`" in d.message
    ]


def _trained_value(path: str, name: str) -> str | None:
    from adf.optim.lockfile import LockError, lock_path, read_lock

    lock = lock_path(path)
    if not os.path.isfile(lock):
        return None
    try:
        entry = read_lock(lock)["params"].get(name)
    except LockError:
        return None
    if not isinstance(entry, dict) or "value" not in entry:
        return None
    value = entry["value"]
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return f"{len(value)} demos"
    return None


def _quote(text: str) -> str:
    if len(text) > PREVIEW:
        text = text[:PREVIEW] + " …"
    return "\n".join("> " + line for line in text.split("\n"))
