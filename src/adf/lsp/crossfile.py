"""A used file's declarations for the editor: where `r.name` of `use "file.adf" as r`
is declared, and how it reads there.

Takes the document's parsed program, its path and a dotted name; gives the
used file's path, text and the llm or fn declaration, or None. Reads only
the files the `use` declarations name (parsed, never checked or run); a used
file's own uses are followed for `r.q.name`.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from adf.syntax import ast


class UsedDecl(NamedTuple):
    path: str
    text: str
    decl: ast.LlmDecl | ast.FnDecl


def used_declaration(program: ast.Program, path: str, name: str) -> UsedDecl | None:
    from adf.compiler.source import SourceReadError, read_source_bytes
    from adf.syntax.parser import parse

    alias, _, rest = name.partition(".")
    use = next(
        (d for d in program.decls if isinstance(d, ast.UseDecl) and d.alias.name == alias), None
    )
    if use is None or not rest or "\0" in use.path.value:
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(path), use.path.value))
    try:
        text = read_source_bytes(target).decode("utf-8").removeprefix("\ufeff")
    except (SourceReadError, UnicodeDecodeError):
        return None
    used, _ = parse(text)
    if used is None:
        return None
    if "." in rest:
        return used_declaration(used, target, rest)
    for decl in used.decls:
        if isinstance(decl, ast.LlmDecl | ast.FnDecl) and decl.name.name == rest:
            return UsedDecl(target, text, decl)
    return None
