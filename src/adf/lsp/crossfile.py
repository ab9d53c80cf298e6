"""A used file's declarations for the editor: where `r.name` of `use "file.adf" as r`
is declared, and how it reads there.

Takes the document's parsed program, its path and a dotted name; gives the
used file's path, text and the llm or fn declaration, or None. Reads only
the files the `use` declarations name (parsed, never checked or run); a used
file's own uses are followed for `r.q.name`. `used_workflow` gives what a
call of a used file's whole workflow, `node v = r(...)`, takes and gives.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from adf.syntax import ast


class UsedDecl(NamedTuple):
    path: str
    text: str
    decl: ast.LlmDecl | ast.FnDecl


class UsedWorkflow(NamedTuple):
    """A used file as one function: `(inputs) -> type` as written, and where."""

    path: str
    signature: str


def used_declaration(program: ast.Program, path: str, name: str) -> UsedDecl | None:
    alias, _, rest = name.partition(".")
    found = _used_file(program, path, alias)
    if found is None or not rest:
        return None
    target, text, used = found
    if "." in rest:
        return used_declaration(used, target, rest)
    for decl in used.decls:
        if isinstance(decl, ast.LlmDecl | ast.FnDecl) and decl.name.name == rest:
            return UsedDecl(target, text, decl)
    return None


def used_workflow(program: ast.Program, path: str, alias: str) -> UsedWorkflow | None:
    """`alias(text: str) -> enum{...}` for a used file with one `output` (the type is
    left out when it cannot be found without the files that file uses)."""
    from adf.compiler.graph import build_graph
    from adf.compiler.resolve import resolve
    from adf.compiler.typecheck import typecheck
    from adf.compiler.typeexpr import type_of

    found = _used_file(program, path, alias)
    if found is None:
        return None
    target, _, used = found
    outputs = [d for d in used.decls if isinstance(d, ast.OutputDecl)]
    if len(outputs) != 1:
        return None
    inputs = ", ".join(f"{d.name.name}: {type_of(d.type, []) or '?'}"
                       for d in used.decls if isinstance(d, ast.DataDecl) and d.role == "input")
    scope, _ = resolve(used)
    typing, _ = typecheck(used, scope, build_graph(used, scope)[0])
    returns = typing.values.get(outputs[0].name.name)
    shown = f"{alias}({inputs})" + (f" -> {returns}" if returns is not None else "")
    return UsedWorkflow(target, shown)


def _used_file(program: ast.Program, path: str,
               alias: str) -> tuple[str, str, ast.Program] | None:
    """The path, text and parse of the file `use ... as alias` names (None when unreadable
    or unparsable)."""
    from adf.compiler.source import SourceReadError, read_source_bytes
    from adf.syntax.parser import parse

    use = next(
        (d for d in program.decls if isinstance(d, ast.UseDecl) and d.alias.name == alias), None
    )
    if use is None or "\0" in use.path.value:
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(path), use.path.value))
    try:
        text = read_source_bytes(target).decode("utf-8").removeprefix("\ufeff")
    except (SourceReadError, UnicodeDecodeError):
        return None
    used, _ = parse(text)
    return None if used is None else (target, text, used)
