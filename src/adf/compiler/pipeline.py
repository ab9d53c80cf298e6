"""The compiler pipeline: `.adf` text -> diagnostics and, when clean, a `Plan`.

Takes source text and a name (or a path); gives a `CompileResult`. The
passes run in this order, each a function from the previous results to new
results plus diagnostics:

    parse -> link -> bind_constants -> resolve -> build_graph -> typecheck -> bind_functions
        -> check_objectives -> check_until -> check_tools -> unroll -> emit_plan

Syntax errors stop the pipeline (there is no program to check). Otherwise
every checking pass runs, so one run reports the errors of all phases;
passes stay silent about names an earlier pass rejected, so there are no
follow-on errors. The plan is built only when no error was found. Warnings
never block the plan. Diagnostics come sorted by position.

The cyclic garbage collector is paused while a file compiles: the passes
build large trees of frozen objects and tuples without reference cycles,
and the collector's repeated scans of that growing heap would otherwise
make compile time grow faster than the file.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from adf.compiler.records import CompileResult as CompileResult
from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.plan.schema import Plan
from adf.records import replace

if TYPE_CHECKING:
    from adf.syntax import ast


def compile_source(
    text: str,
    name: str,
    base_dir: str | None = None,
    *,
    plan: bool = True,
    parsed: ast.Program | None = None,
    max_bytes: int | None = None,
    open_files: Mapping[str, str] | None = None,
) -> CompileResult:
    """Compile `text`; `name` labels diagnostics (its basename names the plan's source).

    `base_dir` is where `py "module:function"` modules are looked up; it
    defaults to the directory part of `name`, or the current directory.
    With `plan=False` only the checks run (what `adfc check` needs): the
    result's plan is then always None, and unrolling is skipped.
    `parsed` is a program the caller already parsed from `text` without
    syntax errors (the editor's incremental parse); parsing is then skipped.
    `max_bytes` bounds each file named by `use` (default `MAX_SOURCE_BYTES`).
    `open_files` holds the texts an editor has open, by real path: a file
    named by `use` that is open there is checked in that text, not the disk's.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _compile(text, name, base_dir, plan, parsed, (), _UsedFiles(max_bytes, open_files))[0]
    finally:
        if paused:
            gc.enable()


def _compile(
    text: str, name: str, base_dir: str | None, plan: bool, parsed: ast.Program | None,
    chain: tuple[str, ...], used: _UsedFiles,
) -> tuple[CompileResult, ast.Program | None]:
    from adf.compiler.graph import build_graph
    from adf.compiler.link import link
    from adf.compiler.loops import bind_constants, check_until
    from adf.compiler.objectives import check_objectives
    from adf.compiler.pybind import bind_functions
    from adf.compiler.resolve import resolve
    from adf.compiler.tools import check_tools
    from adf.compiler.typecheck import typecheck
    from adf.syntax.parser import parse

    if base_dir is None:
        base_dir = (
            os.path.dirname(os.path.abspath(name))
            if name and not name.startswith("<")
            else os.getcwd()
        )
    program, diags = parse(text) if parsed is None else (parsed, ())
    found: list[Diagnostic] = list(diags)
    result: Plan | None = None
    if program is not None:
        linked = link(program, name, base_dir, chain or _root(name), used)
        program = linked.program
        found += linked.diagnostics
        program, d0 = bind_constants(program)
        found += d0
        scope, d1 = resolve(program)
        graph, d2 = build_graph(program, scope)
        typing, d3 = typecheck(program, scope, graph)
        d4 = bind_functions(program, typing, base_dir)
        found += [*d1, *d2, *d3, *d4, *check_objectives(program, scope),
                  *check_until(program, scope, typing), *check_tools(program, scope, typing)]
        if not program.decls:
            found.append(_empty_program())
        if plan and not any(d.is_error for d in found):
            from adf.compiler.emit import emit_plan
            from adf.compiler.inline import mark_calls
            from adf.compiler.unroll import unroll

            unrolled = mark_calls(unroll(program, scope, typing, graph), linked.calls)
            llm_models = scope.llm_models
            del scope, graph  # the plan is built without them: a large program's name table is freed first
            result = emit_plan(program, llm_models, typing, unrolled, os.path.basename(name), text)
    stamped = tuple(replace(d, file=d.file or name) for d in sorted(found, key=_order))
    return CompileResult(result, stamped, text, name), program


def _root(name: str) -> tuple[str, ...]:
    return () if not name or name.startswith("<") else (os.path.realpath(name),)


class _UsedFiles:
    """The files named by `use` in one compile: each checked once (a file reached along
    several paths is not checked again for each: that would grow exponentially with the
    depth of a shared file), each read up to `max_bytes`; a file open in an editor is
    read in the editor's text (`open_files`, by real path; linking looks there first)."""

    def __init__(self, max_bytes: int | None, open_files: Mapping[str, str] | None = None) -> None:
        from adf.compiler.source import MAX_SOURCE_BYTES

        self.max_bytes = MAX_SOURCE_BYTES if max_bytes is None else max_bytes
        self.open_files: Mapping[str, str] = open_files or {}
        self._checked: dict[tuple[str, str], tuple[ast.Program | None,
                                                   tuple[Diagnostic, ...]]] = {}

    def check(
        self, text: str, path: str, chain: tuple[str, ...]
    ) -> tuple[ast.Program | None, tuple[Diagnostic, ...]]:
        """Check a file named by `use` on its own (never unrolled or run): its linked
        program, None when it has errors, and its diagnostics. Whether a file has errors
        does not depend on the chain that reached it (a cycle through an earlier file of
        one chain is a cycle reachable from this file in any chain), so one check serves
        every path."""
        key = (os.path.realpath(path), text)
        if key not in self._checked:
            result, program = _compile(text, path, os.path.dirname(path), False, None, chain,
                                       self)
            self._checked[key] = (program if result.ok else None), result.diagnostics
        return self._checked[key]


def compile_file(path: str, *, plan: bool = True, max_bytes: int | None = None) -> CompileResult:
    """Read and compile `path`; unreadable files give one diagnostic (E0007), not an exception.

    Only regular files up to `max_bytes` (default `MAX_SOURCE_BYTES`) are read.
    """
    from adf.compiler.source import MAX_SOURCE_BYTES, SourceReadError, read_source_bytes

    try:
        data = read_source_bytes(path, MAX_SOURCE_BYTES if max_bytes is None else max_bytes)
    except SourceReadError as exc:
        return _io_error(path, str(exc), "")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return _io_error(
            path,
            f"`{path}` is not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line})",
            "",
            Span.point(line, col),
        )
    del data  # the passes read the text only: a large file's bytes are not held while it compiles
    if text.startswith("\ufeff"):
        text = text[1:]
    return compile_source(text, path, plan=plan, max_bytes=max_bytes)


def _io_error(path: str, message: str, source: str, span: Span | None = None) -> CompileResult:
    diagnostic = Diagnostic(
        code="E0007",
        severity=Severity.ERROR,
        message=message,
        file=path,
        primary=Label(span or Span.point(1, 1), ""),
        help="save the file as UTF-8 text"
        if span is not None
        else "check the path and its permissions",
    )
    return CompileResult(None, (diagnostic,), source, path)


def _empty_program() -> Diagnostic:
    from adf.compiler.report import diag

    return diag(
        "W0103",
        "the program declares nothing",
        Span.point(1, 1),
        "empty program",
        notes=("an empty workflow compiles, but running it does nothing",),
        help='start with a model, an input, an llm and an output, e.g. `model m = "local"`',
    )


def _order(d: Diagnostic) -> tuple[str, Span, str, str]:
    return (d.file, d.primary.span, d.code, d.message)  # this file's own ("") first
