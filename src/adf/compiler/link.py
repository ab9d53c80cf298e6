"""Linking: a program's `use "file.adf" as r` declarations, merged into one program.

Takes a parsed program, its file name and folder, and a checker for used
files; gives the program with the llm and fn declarations it calls as
`r.name(...)` copied in (with the params, tools and models they need), each
`node v = r(args)` replaced by the used file's whole workflow, unrolled by
`adf.compiler.inline`, plus diagnostics E0113-E0120.

A used file is read (only that file, never run), parsed and checked on its
own first; its errors are reported in that file, with E0116 at the `use`.
Only what the program calls is copied, and every copied declaration is
renamed `r.NAME` (a used file's own uses nest: `r.q.NAME`), so the names of
two files never clash and a used file's params keep stable names in plans,
lock files and checkpoints. The one exception is a model: when the using
file declares a model of the same name, the copied llm calls that one (the
using file chooses the models); otherwise the model is copied as `r.NAME`.
Names with a dot cannot be written in a declaration, so a dotted name is
always a copied one. Spans carry no file name, so a copied declaration's
spans are those of its `use`: what a later pass says about it points there
(the used file's own check has already reported what is wrong inside it), and
training never rewrites a used file's literals (`--write` leaves them to the
lock file). A file that uses itself, directly or through others,
is E0114 with the chain of files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import NamedTuple, Protocol, TypeVar

from adf.compiler.inline import declared_names, inline_calls
from adf.compiler.report import diag, suggest, summarise
from adf.compiler.resolve import expressions, walk
from adf.diagnostics import Diagnostic, Span
from adf.records import fields, has, replace
from adf.syntax import ast

MAX_USE_DEPTH = 32  # files in one chain of `use`s, the first included (E0118 beyond)


class UsedFiles(Protocol):
    """What linking needs from the compile it is part of."""

    max_bytes: int  # the most bytes a used file may have
    open_files: Mapping[str, str]  # texts open in an editor, by real path: read first

    def check(self, text: str, path: str,
              chain: tuple[str, ...]) -> tuple[ast.Program | None, tuple[Diagnostic, ...]]:
        """(text, path, chain) -> the used file's linked program (None when it has errors)
        and its own diagnostics, stamped with its path."""
        ...

T = TypeVar("T")
Exported = ast.LlmDecl | ast.FnDecl | ast.ParamDecl | ast.ModelDecl


class Linked(NamedTuple):
    """The merged program; `diagnostics` of this file (empty `file`) and of used files
    (stamped with theirs)."""

    program: ast.Program
    diagnostics: tuple[Diagnostic, ...]
    calls: tuple[str, ...] = ()  # the nodes made by calls of a used file's workflow


def link(
    program: ast.Program, file: str, base_dir: str, chain: tuple[str, ...], used: UsedFiles
) -> Linked:
    uses = [d for d in program.decls if isinstance(d, ast.UseDecl)]
    if not uses:
        return Linked(program, ())
    own = {name for decl in program.decls for name in declared_names(decl)}
    diags: list[Diagnostic] = []
    copied: list[ast.Decl] = []
    replaced: dict[int, tuple[ast.Decl, ...]] = {}
    sites: tuple[str, ...] = ()
    calls = _dotted_calls(program)
    seen_alias: set[str] = set()
    for use in uses:
        alias = use.alias.name
        if alias in seen_alias:
            continue  # E0101 from resolve
        seen_alias.add(alias)
        other, path = _load(use, base_dir, chain, used, diags)
        wanted = [c for c in calls if c.func.name.partition(".")[0] == alias]
        if other is None:
            continue
        exported = {_name(d): d for d in other.decls if isinstance(d, Exported)}
        inlined = inline_calls(program, use, other, path)
        diags += inlined.diagnostics
        foreign = [n for n in inlined.callees if _py_elsewhere(exported.get(n), path, base_dir)]
        if foreign:
            diags.append(_foreign_py(use.alias.span, f"the workflow of {use.path.raw} "
                                     f"calls `{foreign[0]}`, a `py` function"))
        roots: list[str] = [] if foreign else list(inlined.callees)
        replaced.update({} if foreign else inlined.replaced)
        sites += () if foreign else inlined.sites
        for call in wanted:
            name = call.func.name[len(alias) + 1:]
            target = exported.get(name)
            if not isinstance(target, ast.LlmDecl | ast.FnDecl):
                callable_ = [n for n, d in exported.items() if isinstance(d, ast.LlmDecl | ast.FnDecl)]
                diags.append(diag(
                    "E0115", f"`{os.path.basename(path)}` has no llm or fn named `{name}`",
                    call.func.span, f"not in {use.path.raw}",
                    notes=(f"it declares: {summarise(sorted(callable_), quote=True)}"
                           if callable_ else "it declares no llm or fn",),
                    help=suggest(name, callable_)
                    or "call an llm or fn declared at the top level of the used file",
                ))
                continue
            if _py_elsewhere(target, path, base_dir):
                diags.append(_foreign_py(call.func.span, f"`{name}` is a `py` function"))
                continue
            roots.append(name)
        if not roots:
            continue
        copied += _copy(other, exported, roots, use, own)
    if not copied and not replaced:
        return Linked(program, tuple(diags))
    decls = [new for decl in program.decls for new in replaced.get(id(decl), (decl,))]
    return Linked(ast.Program((*decls, *copied)), tuple(diags), sites)


def _py_elsewhere(target: Exported | None, path: str, base_dir: str) -> bool:
    """Whether `target` is a `py` fn of a used file in another folder than this one."""
    return (isinstance(target, ast.FnDecl) and isinstance(target.target, ast.PyRef)
            and os.path.dirname(path) != os.path.normpath(base_dir))


def _foreign_py(span: Span, what: str) -> Diagnostic:
    return diag(
        "E0117", f"{what} of a file in another folder", span,
        "its module would be looked up in this file's folder",
        help="keep the used file next to this one, or wrap the function in an llm or `std` "
        "fn there",
    )


def _load(
    use: ast.UseDecl, base_dir: str, chain: tuple[str, ...], used: UsedFiles,
    diags: list[Diagnostic],
) -> tuple[ast.Program | None, str]:
    from adf.compiler.source import SourceReadError, read_source_bytes, used_path

    path = used_path(use.path.value, base_dir)
    real = os.path.realpath(path)
    if real in chain:
        loop = [*chain[chain.index(real):], real]
        shown = " -> ".join(os.path.basename(p) for p in loop)
        diags.append(diag(
            "E0114", f"{use.path.raw} is used by itself: {shown}", use.path.span,
            "this use closes the cycle", notes=(f"the chain of files: {' -> '.join(loop)}",),
            help="move what both files need into a third file that neither uses",
        ))
        return None, path
    if len(chain) >= MAX_USE_DEPTH:
        diags.append(diag(
            "E0118", f"{use.path.raw} would be the {len(chain) + 1}th file in one chain of uses",
            use.path.span, f"at most {MAX_USE_DEPTH} files may use one another in a chain",
            notes=(f"the chain starts at {chain[0]}",) if chain else (),
            help="flatten the chain: let one file use several others instead of each using "
            "the next",
        ))
        return None, path
    try:  # an open file is read as the editor has it, saved or not
        opened = used.open_files.get(real)
        text = opened if opened is not None else read_source_bytes(
            path, used.max_bytes).decode("utf-8")
    except (SourceReadError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, SourceReadError) else f"`{path}` is not valid UTF-8"
        diags.append(diag(
            "E0113", f"cannot read the used file {use.path.raw}", use.path.span,
            "no such .adf file here" if not os.path.exists(path) else "unreadable",
            notes=(reason, "the path is relative to the folder of this file"),
            help="check the path; it is relative to this file, e.g. `use \"common.adf\" as c`",
        ))
        return None, path
    checked, found = used.check(text.removeprefix("\ufeff"), path, (*chain, real))
    errors = [d for d in found if d.is_error]
    if errors:
        diags += errors
        first = errors[0]
        where = f"{first.file}:{first.primary.span.line}:{first.primary.span.col}"
        diags.append(diag(
            "E0116", f"the used file {use.path.raw} has errors", use.path.span,
            f"{len(errors)} error{'s' if len(errors) != 1 else ''} there",
            notes=(f"first: {where}: {first.code} {first.message}",),
            help="fix the used file (`adfc check` on it lists them)",
        ))
        return None, path
    return checked, path


def _copy(
    used: ast.Program, exported: dict[str, Exported], roots: list[str], use: ast.UseDecl,
    own: set[str],
) -> list[ast.Decl]:
    """The declarations `roots` need, renamed, in the used file's order, spanning `use`."""
    alias = use.alias.name
    needed: dict[str, Exported] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        decl = exported.get(name)
        if decl is None or name in needed:
            continue
        needed[name] = decl
        stack.extend(_needs(decl))
    models = {n for n, d in needed.items() if isinstance(d, ast.ModelDecl)}
    shared = {m for m in models if m in own}  # the using file's model of that name is called
    renames = {n: f"{alias}.{n}" for n in needed if n not in shared}
    return [_respan(_rename(d, renames), use.span)
            for n, d in exported.items() if n in needed and n not in shared]


def _needs(decl: Exported) -> Iterator[str]:
    match decl:
        case ast.LlmDecl():
            args = {p.name.name for p in decl.params}
            if decl.model is not None:
                yield decl.model.name
            for section in decl.sections:
                yield from (p.name for p in section.parts
                            if isinstance(p, ast.Ref) and p.name not in args)
            for tools in decl.tools:
                for entry in tools.entries:
                    yield entry.name.name
                    if isinstance(entry.description, ast.Ref):
                        yield entry.description.name
        case ast.FnDecl() | ast.ParamDecl() | ast.ModelDecl():
            pass


def _rename(decl: Exported, renames: dict[str, str]) -> ast.Decl:
    def ident(i: ast.Ident) -> ast.Ident:
        return ast.Ident(renames.get(i.name, i.name), i.span)

    def ref(r: ast.Ref, local: set[str]) -> ast.Ref:
        return r if r.name in local else ast.Ref(renames.get(r.name, r.name), r.span)

    match decl:
        case ast.LlmDecl():
            args = {p.name.name for p in decl.params}
            sections = tuple(
                replace(s, parts=tuple(ref(p, args) if isinstance(p, ast.Ref) else p
                                            for p in s.parts))
                for s in decl.sections
            )
            tools = tuple(
                replace(t, entries=tuple(
                    replace(e, name=ident(e.name), description=ref(e.description, set())
                                 if isinstance(e.description, ast.Ref) else e.description)
                    for e in t.entries))
                for t in decl.tools
            )
            model = ident(decl.model) if decl.model is not None else None
            return replace(decl, name=ident(decl.name), model=model, sections=sections,
                                tools=tools)
        case ast.FnDecl() | ast.ParamDecl() | ast.ModelDecl():
            return replace(decl, name=ident(decl.name))


def _name(decl: ast.Decl) -> str:
    name = getattr(decl, "name", None)
    return name.name if isinstance(name, ast.Ident) else ""


def _dotted_calls(program: ast.Program) -> list[ast.Call]:
    found: list[ast.Call] = []
    for decl in program.decls:
        for expr, _ in expressions(decl):
            found += [e for e in walk(expr) if isinstance(e, ast.Call) and "." in e.func.name]
    return found


def _respan(node: T, span: Span) -> T:
    """`node` with every span in it replaced by `span`."""
    if isinstance(node, Span):
        return span  # type: ignore[return-value]
    if isinstance(node, tuple):
        return tuple(_respan(item, span) for item in node)  # type: ignore[return-value]
    if has(type(node)):
        return replace(node, **{f.name: _respan(getattr(node, f.name), span)
                                 for f in fields(type(node))})
    return node
