"""Function bindings: `fn` signatures against what they are bound to.

Takes the `Program`, its `Typing` and the directory of the `.adf` file;
gives diagnostics E04xx/W04xx. A `std.*` binding is checked against the
static table `adf.stdlib.signatures.FUNCTIONS`. A `py "module:function"`
binding is checked against the function's signature, read from the
module's *source* with Python's `ast` module (`adf.compiler.pyresolve`
follows aliases and re-exports): user code is never imported or run, so
checking an untrusted file is safe.

The calling convention, checked exactly:
- an `fn` node calls its function **by keyword**, with the names the `fn`
  declares: `function(name1=..., name2=...)`, synchronously (in a worker
  thread). So every declared name must be a parameter that accepts a
  keyword (E0406; positional-only parameters are E0407), every parameter
  without a default must be declared (E0401), and an `async def` or a
  generator function cannot be bound (E0408). A `**kwargs` parameter accepts
  any name; `*args` never receives anything. A result annotation
  `-> None` is E0403; one that admits `None` among other values
  (`Optional[str]`, `str | None`) is W0403: no adf type holds `None`, so a
  call that returns it fails its sample.
- a loss's `py` metric is called as `metric(pred, target, **options)`.

What cannot be known without running the module (the module is missing or
built into Python, the name is made by a call, defined conditionally or
wrapped by a decorator that may change its signature)
gives a warning that says the call is not checked (W0401, W0402).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from adf.compiler import types as T
from adf.compiler.report import diag, suggest, summarise
from adf.compiler.typecheck import Typing
from adf.diagnostics import Diagnostic, Label, Span
from adf.plan.schema import Type
from adf.stdlib.signatures import FUNCTIONS
from adf.syntax import ast

if TYPE_CHECKING:
    from adf.compiler.pyresolve import Found, Resolver

_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)")
_RISK = "a mismatch between the declaration and the function fails only when the workflow runs"


def bind_functions(
    program: ast.Program, typing: Typing, base_dir: str | None
) -> tuple[Diagnostic, ...]:
    diags: list[Diagnostic] = []
    resolver: Resolver | None = None
    for decl in program.decls:
        if isinstance(decl, ast.FnDecl):
            sig = typing.functions.get(decl.name.name)
            if sig is None:
                continue
            if isinstance(decl.target, ast.StdRef):
                _bind_std(decl, decl.target, sig.params, sig.returns, diags)
                continue
        elif not (isinstance(decl, ast.LossDecl) and isinstance(decl.metric, ast.PyRef)):
            continue
        if resolver is None:
            from adf.compiler.pyresolve import Resolver  # only files with `py` bindings pay

            resolver = Resolver(base_dir)
        if isinstance(decl, ast.FnDecl):
            sig = typing.functions[decl.name.name]
            _bind_py(decl, sig.params, sig.returns, resolver, diags)
        else:
            _bind_metric(decl, resolver, diags)
    return tuple(diags)


def parse_py_ref(text: str) -> tuple[str, str] | None:
    match = _REF.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def _bind_std(
    decl: ast.FnDecl,
    target: ast.StdRef,
    params: tuple[tuple[str, Type | None], ...],
    returns: Type | None,
    diags: list[Diagnostic],
) -> None:
    entry = FUNCTIONS.get(target.name)
    if entry is None:
        return  # reported by resolve
    bound = tuple((n, T.parse_type_text(t)) for n, t in entry[0])
    shown = f"`{target.name}({', '.join(f'{n}: {t}' for n, t in bound)})`"
    if len(params) != len(bound):
        diags.append(
            diag(
                "E0401",
                f"`{decl.name.name}` declares {_count(len(params))}, but `{target.name}` takes {len(bound)}",
                decl.name.span,
                "declared here",
                secondary=[Label(target.span, shown)],
                help=f"declare it as `fn {decl.name.name}({', '.join(f'{n}: {t}' for n, t in bound)}) -> {entry[1]}`",
            )
        )
        return
    for (name, declared), (bound_name, want), arg in zip(params, bound, decl.params, strict=True):
        if name != bound_name:
            diags.append(_renamed(decl, arg, target.name, bound_name, target.span, shown))
        elif declared is not None and want is not None and not T.assignable(declared, want):
            diags.append(_arg_type(decl, arg, name, declared, want, target.name, target.span))
    _returns(decl, returns, T.parse_type_text(entry[1]), target.name, diags)


def _bind_py(
    decl: ast.FnDecl,
    params: tuple[tuple[str, Type | None], ...],
    returns: Type | None,
    resolver: Resolver,
    diags: list[Diagnostic],
) -> None:
    assert isinstance(decl.target, ast.PyRef)
    lit = decl.target.ref
    found = _lookup(lit, decl.name.name, resolver, diags)
    if found is None:
        return
    from adf.compiler import pysource

    ref = lit.value
    sig = pysource.signature(found.args)
    shown = f"defined as `{ref.rsplit(':', 1)[1]}{sig.text}`"
    if _lazy(found):
        diags.append(_async(lit, ref, shown, "an `fn` calls its function synchronously", found))
        return
    declared = {name for name, _ in params}
    before = len(diags)
    for (name, want), arg in zip(params, decl.params, strict=True):
        param = sig.by_name.get(name)
        if param is not None and param.positional_only and not sig.var_keyword:
            diags.append(
                diag(
                    "E0407",
                    f"the parameter `{name}` of `{ref}` is positional-only, but adf passes arguments by name",
                    arg.name.span,
                    "passed as a keyword",
                    secondary=[Label(lit.span, shown)],
                    help="remove the `/` from the Python signature, or wrap the function in one that takes keywords",
                )
            )
        elif param is None or (param.positional_only and sig.var_keyword):
            if sig.var_keyword:
                continue  # `**kwargs` takes it
            free = [p for p in sig.params if p.name not in declared and p.keyword]
            candidates = [p.name for p in free if p.required] or [p.name for p in free]
            notes = (
                ("`*args` never receives anything: adf passes arguments by name",)
                if sig.var_positional
                else ()
            )
            diags.append(
                diag(
                    "E0406",
                    f"`{ref}` has no parameter `{name}`, and adf passes arguments by name",
                    arg.name.span,
                    "no such parameter",
                    secondary=[Label(lit.span, shown)],
                    notes=(f"the runtime calls `{ref.rsplit(':', 1)[1]}({name}=...)`", *notes),
                    help=suggest(name, candidates)
                    or (
                        f"rename the argument to `{candidates[0]}`"
                        if len(candidates) == 1
                        else "use the Python function's parameter names for the `fn`'s arguments"
                    ),
                )
            )
        elif want is not None and param.type is not None and not T.assignable(want, param.type):
            diags.append(_arg_type(decl, arg, name, want, param.type, ref, lit.span))
    missing = [
        p for p in sig.params if p.required and (p.name not in declared or p.positional_only)
    ]
    for param in missing if len(diags) == before else ():  # a misnamed argument explains it
        diags.append(
            diag(
                "E0401",
                f"`{decl.name.name}` does not declare `{param.name}`, which `{ref}` requires",
                decl.name.span,
                f"no argument `{param.name}`",
                secondary=[Label(lit.span, shown)],
                help=(
                    f"remove the `/` and declare `{param.name}: {param.type or 'TYPE'}`"
                    if param.positional_only
                    else f"declare `{param.name}: {param.type or 'TYPE'}`, or give it a default in Python"
                ),
            )
        )
    if len(diags) == before and pysource.only_none(found.returns):
        diags.append(_returns_none(decl, returns, ref))
    elif len(diags) == before and pysource.admits_none(found.returns):
        diags.append(_may_return_none(decl, returns, ref))
    elif len(diags) == before:
        _returns(decl, returns, pysource.py_type(found.returns), ref, diags)


def _lookup(lit: ast.StrLit, user: str, resolver: Resolver, diags: list[Diagnostic]) -> Found | None:
    """The signature `py "module:function"` names; None (with a diagnostic) otherwise."""
    from adf.compiler import pyresolve

    parsed = parse_py_ref(lit.value)
    if parsed is None:
        diags.append(
            diag(
                "E0405",
                f"`{lit.value}` is not a Python reference",
                lit.span,
                'expected "module:function"',
                help='write the module, a colon and the function, e.g. `py "retrieval:search"` or `py "pkg.mod:func"`',
            )
        )
        return None
    module, function = parsed
    found = resolver.resolve(module, function)
    if not isinstance(found, pyresolve.Missing):
        _local_stdlib_name(lit, module, resolver.base_dir, diags)
    match found:
        case pyresolve.Found():
            return found
        case pyresolve.Unreadable(reason=reason, builtin=builtin):
            diags.append(
                diag(
                    "W0401",
                    f"cannot check `{user}`: {reason}",
                    lit.span,
                    "not checked",
                    notes=(
                        "adf reads Python sources without importing them; the runtime imports the module when the workflow runs",
                        _RISK,
                    ),
                    help=(
                        "check the declared arguments against the function's documentation, or bind a small wrapper defined in a `.py` file next to the .adf file"
                        if builtin
                        else f"put `{module.replace('.', '/')}.py` next to the .adf file, or install the package that provides `{module}`"
                    ),
                )
            )
        case pyresolve.Dynamic(reason=reason):
            diags.append(
                diag(
                    "W0402",
                    f"cannot check `{user}`: {reason}",
                    lit.span,
                    "signature not known statically",
                    notes=(_RISK,),
                    help="bind a plain `def` (it may call this one) so that adf can check the call",
                )
            )
        case pyresolve.Missing(names=names):
            diags.append(
                diag(
                    "E0404",
                    f"module `{module}` has no function `{function}`",
                    lit.span,
                    "no such function",
                    notes=_shadowed(module, resolver.base_dir),
                    help=suggest(function, names)
                    or (
                        f"functions in `{module}`: {summarise(names)}"
                        if names
                        else f"define `def {function}(...)` in `{module}`"
                    ),
                )
            )
    return None


def _bind_metric(decl: ast.LossDecl, resolver: Resolver, diags: list[Diagnostic]) -> None:
    """A `py` metric is called as `metric(pred, target, **options)`: check it can be."""
    assert isinstance(decl.metric, ast.PyRef)
    lit = decl.metric.ref
    found = _lookup(lit, f"loss {decl.name.name}", resolver, diags)
    if found is None:
        return
    from adf.compiler import pysource

    sig = pysource.signature(found.args)
    shown = f"defined as `{lit.value.rsplit(':', 1)[1]}{sig.text}`"
    if _lazy(found):
        diags.append(_async(lit, lit.value, shown, "a metric is called synchronously", found))
        return
    positional = [p for p in sig.params if p.positional]
    required_positional = [p for p in positional if p.required]
    if len(required_positional) > 2 or (len(positional) < 2 and not sig.var_positional):
        diags.append(
            diag(
                "E0401",
                f"the metric `{lit.value}` cannot be called with a prediction and a target",
                lit.span,
                shown,
                notes=("a metric is called as `metric(pred, target, **options)`",),
                help="define it as `def NAME(pred, target) -> float`",
            )
        )
        return
    keywords = {p.name for p in positional[2:] if p.keyword} | {
        p.name for p in sig.params if not p.positional
    }
    given = {a.name.name for a in decl.args if a.name is not None}
    for arg in decl.args:
        if arg.name is not None and not sig.var_keyword and arg.name.name not in keywords:
            diags.append(
                diag(
                    "E0212",
                    f"unknown option `{arg.name.name}` for the metric `{lit.value}`",
                    arg.name.span,
                    "unknown option",
                    secondary=[Label(lit.span, shown)],
                    help=suggest(arg.name.name, sorted(keywords))
                    or f"its options: {summarise(sorted(keywords), quote=True) or 'none'}",
                )
            )
    for param in sig.params:
        if not param.positional and param.required and param.name not in given:
            diags.append(
                diag(
                    "E0401",
                    f"the metric `{lit.value}` needs the option `{param.name}`",
                    decl.span,
                    f"no `{param.name}: ...` given",
                    secondary=[Label(lit.span, shown)],
                    help=f"pass it: `{param.name}: VALUE`",
                )
            )


def _local_stdlib_name(lit: ast.StrLit, module: str, base_dir: str | None,
                       diags: list[Diagnostic]) -> None:
    """W0404 when the bound module is Python's own but a file of its name sits next to the `.adf`."""
    note = _shadowed(module, base_dir)
    if note:
        top = module.split(".")[0]
        diags.append(
            diag(
                "W0404",
                f"`{top}` binds Python's standard library, not the `{top}` next to this file",
                lit.span,
                "Python's own module",
                notes=note,
                help=f"rename the file (and the binding) to bind its functions, e.g. `my_{top}.py` and "
                     f"`py \"my_{top}:...\"`",
            )
        )


def _shadowed(module: str, base_dir: str | None) -> tuple[str, ...]:
    """A note when a file next to the `.adf` has the name of a Python module, which wins."""
    import os

    from adf.stdlib.pyload import python_own

    top = module.split(".")[0]
    if base_dir is None or not python_own(module) or not any(
            os.path.exists(os.path.join(base_dir, top + tail)) for tail in (".py", "/__init__.py")):
        return ()
    return (f"`{top}` is a module of Python's standard library: it is imported, not the `{top}` "
            "next to this file (rename that file to bind its functions)",)


def _lazy(found: Found) -> bool:
    """An `async def` or a generator function: calling it gives an object, not its value."""
    from adf.compiler import pysource

    return found.is_async or pysource.is_generator(found.definition)


def _async(lit: ast.StrLit, ref: str, shown: str, why: str, found: Found) -> Diagnostic:
    if not found.is_async:  # a generator function
        return diag(
            "E0408",
            f"`{ref}` is a generator function (it has `yield`), which adf cannot bind",
            lit.span,
            shown,
            notes=(f"{why}; calling a generator function gives a generator, not a value",),
            help="bind a plain `def` that returns the value (for a list, `return list(...)`)",
        )
    return diag(
        "E0408",
        f"`{ref}` is an `async def`, which adf cannot bind",
        lit.span,
        shown,
        notes=(f"{why}; calling an `async def` gives a coroutine, not a value",),
        help="bind a plain `def` (it may run the coroutine with `asyncio.run`)",
    )


def _renamed(
    decl: ast.FnDecl, arg: ast.ArgDecl, target: str, bound_name: str, span: Span, shown: str
) -> Diagnostic:
    return diag(
        "E0406",
        f"`{target}` has no parameter `{arg.name.name}`, and adf passes arguments by name",
        arg.name.span,
        f"`{bound_name}` there",
        secondary=[Label(span, shown)],
        help=f"rename the argument to `{bound_name}`",
    )


def _arg_type(
    decl: ast.FnDecl,
    arg: ast.ArgDecl,
    name: str,
    declared: Type,
    want: Type,
    target: str,
    span: Span,
) -> Diagnostic:
    return diag(
        "E0402",
        f"argument `{name}` of `{decl.name.name}` is declared `{declared}`, but `{target}` expects `{want}`",
        arg.type.span,
        f"expected `{want}`",
        secondary=[Label(span, "bound here")],
        help=f"declare it as `{name}: {want}`",
    )


def _returns(
    decl: ast.FnDecl,
    returns: Type | None,
    bound_returns: Type | None,
    target: str,
    diags: list[Diagnostic],
) -> None:
    if returns is None or bound_returns is None or T.assignable(bound_returns, returns):
        return
    diags.append(
        diag(
            "E0403",
            f"`{decl.name.name}` is declared to return `{returns}`, but `{target}` returns `{bound_returns}`",
            decl.returns.span,
            f"expected `{bound_returns}`",
            secondary=[Label(decl.target.span, "bound here")],
            help=f"declare the result as `-> {bound_returns}`",
        )
    )


def _returns_none(decl: ast.FnDecl, returns: Type | None, target: str) -> Diagnostic:
    return diag(
        "E0403",
        f"`{decl.name.name}` is declared to return `{returns}`, but `{target}` returns `None`",
        decl.returns.span,
        "no adf type holds `None`",
        secondary=[Label(decl.target.span, "bound here")],
        notes=("every call would fail its sample",),
        help="return a value of the declared type",
    )


def _may_return_none(decl: ast.FnDecl, returns: Type | None, target: str) -> Diagnostic:
    return diag(
        "W0403",
        f"`{decl.name.name}` is declared to return `{returns}`, but `{target}` may return `None`",
        decl.returns.span,
        "no adf type holds `None`",
        secondary=[Label(decl.target.span, "bound here")],
        notes=("a sample whose call returns `None` fails, as if the function raised; the others run",),
        help="return a value of the declared type on every path (an empty text or list instead of `None`), "
             "and annotate the Python result without `None`",
    )


def _count(n: int) -> str:
    return f"{n} argument{'s' if n != 1 else ''}"

