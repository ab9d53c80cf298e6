"""Reading a Python function's signature from source, without importing it.

Takes module names, parsed modules and parameter lists; gives module paths,
parsed modules (or why one cannot be read: a module too deeply nested for
Python's parser is a reason, never a crash), signatures (`PySignature`: how
each parameter can be passed), and adf types for annotations (`str`, `int`, `float`, `bool`,
`list[T]`/`Sequence[T]`, `Literal[...]` as an enum, `dict`/`Mapping` as an
open record, `Any`). Only `adf.compiler.pybind` (through `adf.compiler.pyresolve`) uses it, and only for files
with `py "module:function"` bindings, so plain checks never import `ast`.
"""

from __future__ import annotations

import ast as pyast
import os
import sys

from adf.compiler import types as T
from adf.compiler.records import PyParam as PyParam
from adf.compiler.records import PySignature as PySignature
from adf.plan.schema import Type

_PY_SCALARS = {"str": T.STR, "int": T.INT, "float": T.FLOAT, "bool": T.BOOL}
_PY_LISTS = {"list", "List", "Sequence", "Iterable", "tuple", "Tuple"}
_PY_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}


def find_module(module: str, base_dir: str | None) -> str | None:
    """The path of `module`'s source, searching `base_dir` then `sys.path` (no imports);
    Python's own modules only on `sys.path`, as the runtime imports them."""
    from adf.stdlib.pyload import module_file, python_own

    roots = [base_dir] if base_dir is not None and not python_own(module) else []
    roots += [p or os.getcwd() for p in sys.path if not p.endswith(".zip")]
    for root in roots:
        found = module_file(module, root)
        if found is not None:
            return found
    return None


def read_module(path: str) -> pyast.Module | str:
    """The parsed module, or a short reason why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return pyast.parse(handle.read(), filename=path)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"{os.path.basename(path)}: {exc.__class__.__name__}"


def function_names(tree: pyast.Module) -> list[str]:
    return [n.name for n in tree.body if isinstance(n, pyast.FunctionDef | pyast.AsyncFunctionDef)]


def signature(args: pyast.arguments) -> PySignature:
    """The parameters of a `def` or `lambda`, with the ways each can be passed."""
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    params = [
        PyParam(
            a.arg,
            py_type(a.annotation),
            positional=True,
            keyword=index >= len(args.posonlyargs),
            required=index < first_default,
        )
        for index, a in enumerate(positional)
    ]
    params += [
        PyParam(a.arg, py_type(a.annotation), positional=False, keyword=True, required=d is None)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    words = [a.arg + ("" if i < first_default else "=...") for i, a in enumerate(positional)]
    if args.posonlyargs:
        words.insert(len(args.posonlyargs), "/")
    if args.vararg is not None:
        words.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        words.append("*")
    words += [a.arg + ("" if d is None else "=...") for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        words.append(f"**{args.kwarg.arg}")
    return PySignature(
        tuple(params), args.vararg is not None, args.kwarg is not None, f"({', '.join(words)})"
    )


def py_type(node: pyast.expr | None) -> Type | None:
    """An adf type for a Python annotation, or None when it cannot be expressed."""
    if node is None:
        return None
    if isinstance(node, pyast.Constant) and isinstance(node.value, str):
        try:
            return py_type(pyast.parse(node.value, mode="eval").body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
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


def admits_none(node: pyast.expr | None) -> bool:
    """Does a result annotation allow `None` (`None`, `Optional[X]`, `X | None`, `Union[X, None]`)?"""
    if node is None:
        return False
    if isinstance(node, pyast.Constant):
        if isinstance(node.value, str):
            try:
                return admits_none(pyast.parse(node.value, mode="eval").body)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False
        return node.value is None
    if isinstance(node, pyast.BinOp) and isinstance(node.op, pyast.BitOr):
        return admits_none(node.left) or admits_none(node.right)
    if isinstance(node, pyast.Subscript):
        base = (dotted(node.value) or "").rsplit(".", 1)[-1]
        if base == "Optional":
            return True
        if base == "Union":
            members = node.slice.elts if isinstance(node.slice, pyast.Tuple) else [node.slice]
            return any(admits_none(m) for m in members)
    return dotted(node) in ("None", "NoneType", "types.NoneType")


def only_none(node: pyast.expr | None) -> bool:
    """Is a result annotation `None` itself (`-> None`, `-> "None"`), the function's only result?"""
    if isinstance(node, pyast.Constant) and isinstance(node.value, str):
        try:
            return only_none(pyast.parse(node.value, mode="eval").body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    if isinstance(node, pyast.Constant):
        return node.value is None
    return node is not None and dotted(node) in ("None", "NoneType", "types.NoneType")


def is_generator(definition: pyast.AST | None) -> bool:
    """Is this `def` a generator function (a `yield` in its own body, not in a nested scope)?"""
    if not isinstance(definition, pyast.FunctionDef):
        return False
    todo: list[pyast.AST] = list(definition.body)
    while todo:
        node = todo.pop()
        if isinstance(node, pyast.Yield | pyast.YieldFrom):
            return True
        if not isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef | pyast.Lambda | pyast.ClassDef):
            todo.extend(pyast.iter_child_nodes(node))
    return False


def dotted(node: pyast.expr) -> str | None:
    if isinstance(node, pyast.Name):
        return node.id
    if isinstance(node, pyast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None
