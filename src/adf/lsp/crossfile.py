"""Go-to-definition into a used file: where `r.name` of `use "file.adf" as r` is declared.

Takes the document's parsed program, its path and a dotted name; gives the
used file's path and the span of the declaration's name, or None. Reads
only the files the `use` declarations name (parsed, never checked or run);
a used file's own uses are followed for `r.q.name`.
"""

from __future__ import annotations

import os

from adf.diagnostics import Span
from adf.syntax import ast


def used_definition(program: ast.Program, path: str, name: str) -> tuple[str, Span] | None:
    from adf.compiler.source import SourceReadError, read_source_bytes
    from adf.syntax.parser import parse

    alias, _, rest = name.partition(".")
    use = next(
        (d for d in program.decls if isinstance(d, ast.UseDecl) and d.alias.name == alias), None
    )
    if use is None or not rest:
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(path), use.path.value))
    try:
        used, _ = parse(read_source_bytes(target).decode("utf-8").removeprefix("\ufeff"))
    except (SourceReadError, UnicodeDecodeError):
        return None
    if used is None:
        return None
    if "." in rest:
        return used_definition(used, target, rest)
    for decl in used.decls:
        if isinstance(decl, ast.LlmDecl | ast.FnDecl) and decl.name.name == rest:
            return target, decl.name.span
    return None
