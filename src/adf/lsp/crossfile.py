"""Used files for the editor: where `r.name` of `use "file.adf" as r` is declared, and
how it reads there; and which files a document uses, directly or not.

`used_declaration` takes the document's parsed program, its path and a
dotted name; gives the used file's path, text and the llm or fn
declaration, or None. `used_workflow` gives what a call of a used file's
whole workflow, `node v = r(...)`, takes and gives. `used_files` takes the
program, its path and a reader (the editor's text of an open file, else
the disk's); gives the real path of every file it uses, and of the files
those use. All read only the files the `use` declarations name (parsed,
never checked or run); a used file's own uses are followed for `r.q.name`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from adf.syntax import ast


class UsedDecl(NamedTuple):
    path: str
    text: str
    decl: ast.LlmDecl | ast.FnDecl


class UsedWorkflow(NamedTuple):
    """A used file as one function: `(inputs) -> type`, where, and its `output`."""

    path: str
    signature: str
    output: ast.OutputDecl


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
    return UsedWorkflow(target, shown, outputs[0])


def _used_file(program: ast.Program, path: str,
               alias: str) -> tuple[str, str, ast.Program] | None:
    """The path, text and parse of the file `use ... as alias` names (None when unreadable
    or unparsable)."""
    from adf.compiler.source import SourceReadError, read_source_bytes, used_path
    from adf.syntax.parser import parse

    use = next(
        (d for d in program.decls if isinstance(d, ast.UseDecl) and d.alias.name == alias), None
    )
    if use is None or "\0" in use.path.value:
        return None
    target = used_path(use.path.value, os.path.dirname(path))
    try:
        text = read_source_bytes(target).decode("utf-8").removeprefix("\ufeff")
    except (SourceReadError, UnicodeDecodeError):
        return None
    used, _ = parse(text)
    return None if used is None else (target, text, used)


def used_files(
    program: ast.Program, path: str, read: Callable[[str], str | None]
) -> frozenset[str]:
    """The real paths of the files `program` (the file at `path`) uses, and of the files
    they use, and so on; `read(path)` gives a file's text, None when it cannot be read."""
    from adf.compiler.source import used_path
    from adf.syntax.parser import parse

    found: set[str] = set()
    todo = [(program, path)]
    while todo:
        using, where = todo.pop()
        for decl in using.decls:
            if not isinstance(decl, ast.UseDecl):
                continue
            target = used_path(decl.path.value, os.path.dirname(where))
            real = os.path.realpath(target)
            if real in found:
                continue
            found.add(real)
            text = read(target)
            used = parse(text)[0] if text is not None else None
            if used is not None:
                todo.append((used, target))
    return frozenset(found)
