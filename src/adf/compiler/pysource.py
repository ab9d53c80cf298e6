"""Reading a Python function's signature from source, without importing it.

Takes module names and parsed modules; gives module paths, function
definitions, and adf types for annotations (`str`, `int`, `float`, `bool`,
`list[T]`/`Sequence[T]`, `Literal[...]` as an enum, `dict`/`Mapping` as an
open record, `Any`). Only `adf.compiler.pybind` uses it, and only for files
with `py "module:function"` bindings, so plain checks never import `ast`.
"""

from __future__ import annotations

import ast as pyast
import os
import sys

from adf.compiler import types as T
from adf.plan.schema import Type

_PY_SCALARS = {"str": T.STR, "int": T.INT, "float": T.FLOAT, "bool": T.BOOL}
_PY_LISTS = {"list", "List", "Sequence", "Iterable", "tuple", "Tuple"}
_PY_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}

FunctionNode = pyast.FunctionDef | pyast.AsyncFunctionDef


def find_module(module: str, base_dir: str | None) -> str | None:
    """The path of `module`'s source, searching `base_dir` then `sys.path` (no imports)."""
    parts = module.split(".")
    roots = [base_dir] if base_dir is not None else []
    roots += [p or os.getcwd() for p in sys.path if not p.endswith(".zip")]
    for root in roots:
        stem = os.path.join(root, *parts)
        for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def read_module(path: str) -> pyast.Module | str:
    """The parsed module, or a short reason why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return pyast.parse(handle.read(), filename=path)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        return f"{os.path.basename(path)}: {exc.__class__.__name__}"


def function_names(tree: pyast.Module) -> list[str]:
    return [n.name for n in tree.body if isinstance(n, pyast.FunctionDef | pyast.AsyncFunctionDef)]


def find_function(
    tree: pyast.Module, name: str
) -> pyast.FunctionDef | pyast.AsyncFunctionDef | None:
    found = None
    for node in tree.body:
        if isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef) and node.name == name:
            found = node  # the last definition wins, as in Python
    return found


def binds_name(tree: pyast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, pyast.Import | pyast.ImportFrom):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                return True
        elif isinstance(node, pyast.Assign):
            if any(isinstance(t, pyast.Name) and t.id == name for t in node.targets):
                return True
        elif isinstance(node, pyast.AnnAssign | pyast.ClassDef):
            target = node.target if isinstance(node, pyast.AnnAssign) else None
            if (isinstance(target, pyast.Name) and target.id == name) or getattr(
                node, "name", None
            ) == name:
                return True
        elif isinstance(node, pyast.If | pyast.Try):
            return True  # conditional definitions: do not guess
    return False


def py_params(
    func: pyast.FunctionDef | pyast.AsyncFunctionDef,
) -> tuple[list[tuple[str, Type | None]], int, bool]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    if positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    required = len(positional) - len(args.defaults)
    return (
        [(a.arg, py_type(a.annotation)) for a in positional],
        max(required, 0),
        args.vararg is not None,
    )


def positional_only(func: pyast.FunctionDef | pyast.AsyncFunctionDef, name: str) -> bool:
    return any(a.arg == name for a in func.args.posonlyargs)


def py_type(node: pyast.expr | None) -> Type | None:
    """An adf type for a Python annotation, or None when it cannot be expressed."""
    if node is None:
        return None
    if isinstance(node, pyast.Constant) and isinstance(node.value, str):
        try:
            return py_type(pyast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    name = dotted(node)
    if name is not None:
        short = name.rsplit(".", 1)[-1]
        if short in _PY_SCALARS:
            return _PY_SCALARS[short]
        if short in ("Any", "object"):
            return T.ANY
        if short in _PY_LISTS:
            return T.list_of(T.ANY)
        if short in _PY_DICTS:
            return Type("record")
        return None
    if isinstance(node, pyast.Subscript):
        base = dotted(node.value)
        short = base.rsplit(".", 1)[-1] if base else ""
        if short in _PY_LISTS:
            inner = node.slice
            if isinstance(inner, pyast.Tuple):
                if (
                    short in ("tuple", "Tuple")
                    and len(inner.elts) == 2
                    and isinstance(inner.elts[1], pyast.Constant)
                    and inner.elts[1].value is Ellipsis
                ):
                    inner = inner.elts[0]
                else:
                    return None
            item = py_type(inner)
            return T.list_of(item) if item is not None else None
        if short in _PY_DICTS:
            return Type("record")
        if short == "Literal":
            elts = node.slice.elts if isinstance(node.slice, pyast.Tuple) else [node.slice]
            values = [
                e.value for e in elts if isinstance(e, pyast.Constant) and isinstance(e.value, str)
            ]
            return Type("enum", values=tuple(values)) if len(values) == len(elts) else None
    return None


def dotted(node: pyast.expr) -> str | None:
    if isinstance(node, pyast.Name):
        return node.id
    if isinstance(node, pyast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None
