"""Import the Python callables that `.adf` files bind with `py "module:function"`.

Takes a reference (`py:module:function` as stored in the plan, or the bare
`module:function`) and the directory of the `.adf` source; gives the callable,
or raises `BindError` with a one-line message (module not found, attribute
missing, not callable, the module raised while importing). The module is
looked up first next to the source (`base_dir`), then on the normal import
path, except a module of Python's standard library (`python_own`), which is
always Python's own. A module next to the source is the one imported even
when another of its name was imported before (another workflow's, or an
installed library's): `module_file` says which file that is, for the
runtime and for `adfc check` alike. Only `run`, `eval` and `train` import user code; `adfc check` never
calls this.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any


def _import(ref: str, module_name: str, base_dir: str) -> Any:
    """Import `module_name` with `base_dir` first on the path, then leave `sys.path` and
    `sys.modules` as they were: the modules of the source's folder that the import added are
    taken out again (the callable keeps its module alive), so a later import of that name
    (another folder's `helpers.py`, or the installed library a local file is named after)
    is not handed this one, and what was imported under the name before is put back."""
    added = base_dir not in sys.path and not python_own(module_name)
    if added:
        sys.path.insert(0, base_dir)
    before = set(sys.modules)
    saved = {name: sys.modules.pop(name) for name in _stale(module_name, base_dir)}
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise BindError(
                f"cannot import {module_name!r} for {ref!r}: no such module next to the "
                f"source ({base_dir}) or on the Python path"
            ) from None
        raise BindError(f"importing {module_name!r} failed: {exc}") from None
    except Exception as exc:
        raise BindError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(base_dir)
        for name in [n for n in sys.modules if (n not in before or n in saved) and _under(n, base_dir)]:
            del sys.modules[name]
        sys.modules.update(saved)


class BindError(Exception):
    """A `py` binding that cannot be loaded; the message is for the user."""


def python_own(module: str) -> bool:
    """Is `module` part of Python's standard library? Then it is always Python's own that is
    imported, never a file of that name next to the `.adf` source (adf and its libraries have
    imported most of them already); `adfc check` reads the same one."""
    return module.split(".")[0] in sys.stdlib_module_names


def split_ref(ref: str) -> tuple[str, str]:
    body = ref[3:] if ref.startswith("py:") else ref
    module, sep, function = body.rpartition(":")
    if not sep or not module or not function:
        raise BindError(f"bad python reference {ref!r}: expected \"module:function\"")
    return module, function


def module_file(module: str, root: str) -> str | None:
    """The source file of `module` under the folder `root`, if there is one: a package
    (`name/__init__.py`) wins over a module (`name.py`), as in Python's import."""
    stem = os.path.join(root, *module.split("."))
    for candidate in (os.path.join(stem, "__init__.py"), stem + ".py"):
        if os.path.isfile(candidate):
            return candidate
    return None


def _stale(module: str, base_dir: str) -> list[str]:
    """The `sys.modules` entries of `module`'s top-level package when they were imported
    from another file than the one next to the source (another workflow's `helpers.py`,
    an installed library of the same name): importing would hand those back."""
    top = module.split(".")[0]
    loaded = sys.modules.get(top)
    local = None if python_own(module) else module_file(top, base_dir)
    where = getattr(loaded, "__file__", None)
    if loaded is None or local is None or (
            isinstance(where, str) and os.path.realpath(where) == os.path.realpath(local)):
        return []
    return [name for name in sys.modules if name == top or name.startswith(top + ".")]


def _under(name: str, root: str) -> bool:
    """Was the loaded module `name` imported from a file (or a namespace folder) under `root`?"""
    module = sys.modules.get(name)
    places = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    prefix = os.path.join(os.path.realpath(root), "")
    return any(isinstance(p, str) and os.path.realpath(p).startswith(prefix) for p in places)


# one import at a time: `sys.path` and `sys.modules` are swapped while a module loads
_LOCK = threading.RLock()


def load_callable(ref: str, base_dir: str) -> Callable[..., Any]:
    module_name, function = split_ref(ref)
    with _LOCK:
        module = _import(ref, module_name, base_dir)
    target: Any = module
    for part in function.split("."):
        if not hasattr(target, part):
            raise BindError(f"module {module_name!r} has no attribute {function!r}")
        target = getattr(target, part)
    if not callable(target):
        raise BindError(f"{module_name}:{function} is not callable")
    return target  # type: ignore[no-any-return]
