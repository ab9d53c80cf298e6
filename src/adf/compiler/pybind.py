"""Function bindings: `fn` signatures against what they are bound to.

Takes the `Program`, its `Typing` and the directory of the `.adf` file;
gives diagnostics E04xx/W04xx. A `std.*` binding is checked against the
static table `adf.stdlib.signatures.FUNCTIONS`. A `py "module:function"`
binding is checked against the function's annotations, read from the
module's *source* with Python's `ast` module: user code is never imported
or run, so checking an untrusted file is safe.

Modules are looked up next to the `.adf` file first, then on `sys.path`
(as files, without importing anything). A module that cannot be found or
read gives the warning W0401 (the runtime may still find it); a function
missing from a module that was found is an error. Unannotated parameters
and annotations adf cannot express are not checked.

The runtime passes arguments in the declared order; names that differ from
the Python function's give W0403.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from adf.compiler import ast
from adf.compiler import types as T
from adf.compiler.report import diag, suggest
from adf.compiler.typecheck import Typing
from adf.diagnostics import Diagnostic, Label
from adf.plan.schema import Type
from adf.stdlib.signatures import FUNCTIONS

if TYPE_CHECKING:
    import ast as pyast

_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)")


def bind_functions(
    program: ast.Program, typing: Typing, base_dir: str | None
) -> tuple[Diagnostic, ...]:
    diags: list[Diagnostic] = []
    sources: dict[str, pyast.Module | str | None] = {}
    for decl in program.decls:
        if not isinstance(decl, ast.FnDecl):
            continue
        sig = typing.functions.get(decl.name.name)
        if sig is None:
            continue
        if isinstance(decl.target, ast.StdRef):
            entry = FUNCTIONS.get(decl.target.name)
            if entry is None:
                continue  # reported by resolve
            params = tuple((n, T.parse_type_text(t)) for n, t in entry[0])
            _compare(
                decl,
                sig.params,
                sig.returns,
                params,
                T.parse_type_text(entry[1]),
                decl.target.name,
                diags,
                None,
            )
        else:
            _bind_py(decl, sig.params, sig.returns, base_dir, sources, diags)
    for decl in program.decls:
        if isinstance(decl, ast.LossDecl) and isinstance(decl.metric, ast.PyRef):
            _bind_metric(decl, base_dir, sources, diags)
    return tuple(diags)


def parse_py_ref(text: str) -> tuple[str, str] | None:
    match = _REF.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def _bind_py(
    decl: ast.FnDecl,
    params: tuple[tuple[str, Type | None], ...],
    returns: Type | None,
    base_dir: str | None,
    sources: dict[str, pyast.Module | str | None],
    diags: list[Diagnostic],
) -> None:
    assert isinstance(decl.target, ast.PyRef)
    lit = decl.target.ref
    func = _lookup(lit, decl.name.name, base_dir, sources, diags)
    if func is None:
        return
    function = lit.value.rsplit(":", 1)[1]
    from adf.compiler import pysource

    py_params, required, variadic = pysource.py_params(func)
    arity_ok = required <= len(params) and (variadic or len(params) <= len(py_params))
    if not arity_ok:
        want = f"{required}" if required == len(py_params) else f"{required} to {len(py_params)}"
        diags.append(
            diag(
                "E0401",
                f"`{decl.name.name}` declares {len(params)} argument{'s' if len(params) != 1 else ''}, but `{lit.value}` takes {want}",
                decl.name.span,
                "declared here",
                secondary=[
                    Label(
                        lit.span, f"defined as `{function}({', '.join(n for n, _ in py_params)})`"
                    )
                ],
                help="make the declared arguments match the Python function's parameters",
            )
        )
        return
    positional_only = frozenset(a.arg for a in func.args.posonlyargs)
    _compare(
        decl,
        params,
        returns,
        tuple(py_params[: len(params)]),
        pysource.py_type(func.returns),
        lit.value,
        diags,
        positional_only,
    )


def _lookup(
    lit: ast.StrLit,
    user: str,
    base_dir: str | None,
    sources: dict[str, pyast.Module | str | None],
    diags: list[Diagnostic],
) -> pyast.FunctionDef | pyast.AsyncFunctionDef | None:
    """The `def` that `py "module:function"` names, read from source; None (with
    a diagnostic, unless it exists but cannot be read statically) otherwise."""
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
    from adf.compiler import pysource  # only files with `py` bindings pay for Python's ast

    if module not in sources:
        path = pysource.find_module(module, base_dir)
        sources[module] = None if path is None else pysource.read_module(path)
    tree = sources[module]
    if tree is None or isinstance(tree, str):
        why = (
            f"module `{module}` was not found next to this file or on the Python path"
            if tree is None
            else f"module `{module}` could not be read ({tree})"
        )
        diags.append(
            diag(
                "W0401",
                f"cannot check `{user}`: {why}",
                lit.span,
                "not checked",
                notes=(
                    "adf reads Python sources without importing them; the runtime imports the module when the workflow runs",
                ),
                help=f"put `{module.replace('.', '/')}.py` next to the .adf file",
            )
        )
        return None
    func = pysource.find_function(tree, function)
    if func is None:
        if pysource.binds_name(tree, function):
            return None  # assigned or imported: exists, but its signature cannot be read statically
        names = pysource.function_names(tree)
        diags.append(
            diag(
                "E0404",
                f"module `{module}` has no function `{function}`",
                lit.span,
                "no such function",
                help=suggest(function, names)
                or (
                    f"functions in `{module}`: {', '.join(names)}"
                    if names
                    else f"define `def {function}(...)` in `{module}`"
                ),
            )
        )
    return func


def _bind_metric(
    decl: ast.LossDecl,
    base_dir: str | None,
    sources: dict[str, pyast.Module | str | None],
    diags: list[Diagnostic],
) -> None:
    """A `py` metric is called as `metric(pred, target, **options)`: check it can be."""
    assert isinstance(decl.metric, ast.PyRef)
    lit = decl.metric.ref
    func = _lookup(lit, f"loss {decl.name.name}", base_dir, sources, diags)
    if func is None:
        return
    from adf.compiler import pysource

    py_params, required, variadic = pysource.py_params(func)
    function = lit.value.rsplit(":", 1)[1]
    shown = f"defined as `{function}({', '.join(n for n, _ in py_params)})`"
    if required > 2 or (len(py_params) < 2 and not variadic):
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
    args = func.args
    posonly = {a.arg for a in args.posonlyargs}
    named = {n for n, _ in py_params[2:] if n not in posonly} | {a.arg for a in args.kwonlyargs}
    keywords = named if args.kwarg is None else None
    given = {a.name.name for a in decl.args if a.name is not None}
    for arg in decl.args:
        if arg.name is not None and keywords is not None and arg.name.name not in keywords:
            diags.append(
                diag(
                    "E0212",
                    f"unknown option `{arg.name.name}` for the metric `{lit.value}`",
                    arg.name.span,
                    "unknown option",
                    secondary=[Label(lit.span, shown)],
                    help=suggest(arg.name.name, sorted(keywords))
                    or f"its options: {', '.join(f'`{k}`' for k in sorted(keywords)) or 'none'}",
                )
            )
    defaults = args.kw_defaults
    for kw, default in zip(args.kwonlyargs, defaults, strict=True):
        if default is None and kw.arg not in given:
            diags.append(
                diag(
                    "E0401",
                    f"the metric `{lit.value}` needs the option `{kw.arg}`",
                    decl.span,
                    f"no `{kw.arg}: ...` given",
                    secondary=[Label(lit.span, shown)],
                    help=f"pass it: `{kw.arg}: VALUE`",
                )
            )


def _compare(
    decl: ast.FnDecl,
    params: tuple[tuple[str, Type | None], ...],
    returns: Type | None,
    bound: tuple[tuple[str, Type | None], ...],
    bound_returns: Type | None,
    target: str,
    diags: list[Diagnostic],
    positional_only: frozenset[str] | None,
) -> None:
    target_span = decl.target.span
    if positional_only is None and len(params) != len(bound):
        diags.append(
            diag(
                "E0401",
                f"`{decl.name.name}` declares {len(params)} argument{'s' if len(params) != 1 else ''}, but `{target}` takes {len(bound)}",
                decl.name.span,
                "declared here",
                secondary=[
                    Label(target_span, f"`{target}({', '.join(f'{n}: {t}' for n, t in bound)})`")
                ],
                help=f"declare it as `fn {decl.name.name}({', '.join(f'{n}: {t}' for n, t in bound)}) -> {bound_returns}`",
            )
        )
        return
    for (name, declared), (bound_name, want), arg in zip(params, bound, decl.params, strict=False):
        if declared is not None and want is not None and not T.assignable(declared, want):
            diags.append(
                diag(
                    "E0402",
                    f"argument `{name}` of `{decl.name.name}` is declared `{declared}`, but `{target}` expects `{want}`",
                    arg.type.span,
                    f"expected `{want}`",
                    secondary=[Label(target_span, "bound here")],
                    help=f"declare it as `{name}: {want}`",
                )
            )
        elif name != bound_name and bound_name not in (positional_only or ()):
            diags.append(
                diag(
                    "W0403",
                    f"argument `{name}` of `{decl.name.name}` is called `{bound_name}` in `{target}`",
                    arg.name.span,
                    f"`{bound_name}` there",
                    notes=(
                        "arguments are passed in order, so this works, but the names help readers",
                    ),
                    help=f"rename it to `{bound_name}`",
                )
            )
    if (
        returns is not None
        and bound_returns is not None
        and not T.assignable(bound_returns, returns)
    ):
        diags.append(
            diag(
                "E0403",
                f"`{decl.name.name}` is declared to return `{returns}`, but `{target}` returns `{bound_returns}`",
                decl.returns.span,
                f"expected `{bound_returns}`",
                secondary=[Label(target_span, "bound here")],
                help=f"declare the result as `-> {bound_returns}`",
            )
        )
