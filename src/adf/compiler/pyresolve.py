"""Finding the `def` that a `py "module:name"` reference ends at, statically.

Takes a module name, a function name and the `.adf` file's directory; gives
a `Found` (the function definition, possibly reached through aliases and
re-exports), a `Dynamic` (the name exists but what it is cannot be known
without running the module, with the reason), a `Missing` (the module was
read and binds no such name) or an `Unreadable` (the module's source was
not found or does not parse). Followed statically, as Python would:

- `name = other` and `name = module.attr` (aliases, last binding wins);
- `from pkg.mod import f as name` and relative imports (re-exports);
- `from mod import *` when the module binds the name nowhere else;
- `name = lambda ...: ...` (a lambda's parameters are read like a def's).

`del name` unbinds it (`Missing`, as Python would find it). A `def` under a
decorator that may change its signature (any but `functools.cache`,
`functools.lru_cache` and a few markers) is `Dynamic`, and so is anything
else that binds the name (a call such as `functools.partial`, a class, a
conditional definition, a module `__getattr__`).
Nothing is ever imported or run.
"""

from __future__ import annotations

import ast as pyast
import builtins
import sys

from adf.compiler import pysource
from adf.compiler.records import Dynamic as Dynamic
from adf.compiler.records import Found as Found
from adf.compiler.records import Missing as Missing
from adf.compiler.records import Resolution as Resolution
from adf.compiler.records import Unreadable as Unreadable

_MAX_HOPS = 16
# decorators that return a function called with the same arguments as the one they wrap
_KEEPS_SIGNATURE = frozenset({
    "cache", "lru_cache", "functools.cache", "functools.lru_cache",
    "typing.no_type_check", "no_type_check", "override", "typing.override",
    "typing_extensions.override",
})




class Resolver:
    """Resolves references for one `.adf` file; parsed modules are cached."""

    def __init__(self, base_dir: str | None) -> None:
        self.base_dir = base_dir
        self._modules: dict[str, tuple[pyast.Module, bool] | str | None] = {}
        self._trail: list[str] | None = None

    def resolve(self, module: str, name: str) -> Resolution:
        return self._resolve(module, name, 0, frozenset())

    def trail(self, module: str, name: str) -> tuple[tuple[str, ...], Resolution]:
        """`resolve`, with every `module:name` passed on the way (the reference first)."""
        self._trail = []
        try:
            found = self._resolve(module, name, 0, frozenset())
            return tuple(self._trail), found
        finally:
            self._trail = None

    def module_tree(self, module: str) -> tuple[pyast.Module, bool] | None:
        """(tree, is_package) of a readable module, else None."""
        loaded = self._module(module)
        return loaded if isinstance(loaded, tuple) else None

    def _module(self, module: str) -> tuple[pyast.Module, bool] | str | None:
        """(tree, is_package), a reason it cannot be read, or None when not found."""
        if module not in self._modules:
            path = pysource.find_module(module, self.base_dir)
            if path is None:
                self._modules[module] = None
            else:
                tree = pysource.read_module(path)
                self._modules[module] = (
                    tree if isinstance(tree, str) else (tree, path.endswith("__init__.py"))
                )
        return self._modules[module]

    def _resolve(self, module: str, name: str, hops: int, seen: frozenset[str]) -> Resolution:
        key = f"{module}:{name}"
        if hops > _MAX_HOPS or key in seen:
            return Dynamic(f"`{key}` is defined through a cycle of aliases")
        seen = seen | {key}
        if self._trail is not None:
            self._trail.append(key)
        loaded = self._module(module)
        if loaded is None or isinstance(loaded, str):
            top = module.split(".")[0]
            builtin = loaded is None and top in sys.stdlib_module_names
            if builtin:
                reason = f"module `{module}` is part of Python but has no source file adf can read"
            elif loaded is None:
                reason = f"module `{module}` was not found next to this file or on the Python path"
            else:
                reason = f"module `{module}` could not be read ({loaded})"
            return Unreadable(reason, builtin) if hops == 0 else Dynamic(reason)
        tree, is_package = loaded
        binding = _last_binding(tree, name)
        if isinstance(binding, pyast.Delete):  # defined, then deleted
            return Missing(tuple(n for n in pysource.function_names(tree) if n != name))
        if binding is None:
            for node in tree.body:
                if isinstance(node, pyast.ImportFrom) and any(a.name == "*" for a in node.names):
                    source = _absolute(module, is_package, node)
                    if source is not None:
                        found = self._resolve(source, name, hops + 1, seen)
                        if not isinstance(found, Missing):
                            return found
            if any(_conditional_star(node) for node in tree.body):
                return Dynamic(f"module `{module}` imports `*` conditionally, so `{name}` may come from there")
            if any(_defines(node, "__getattr__") for node in tree.body):
                return Dynamic(f"module `{module}` defines `__getattr__`, so `{name}` may be made at run time")
            return Missing(tuple(pysource.function_names(tree)))
        return self._follow(module, is_package, name, binding, hops, seen)

    def _follow(
        self,
        module: str,
        is_package: bool,
        name: str,
        node: pyast.stmt,
        hops: int,
        seen: frozenset[str],
    ) -> Resolution:
        where = f"{module}:{name}"
        if isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef):
            wrapped = [d for d in node.decorator_list if pysource.dotted(d) not in _KEEPS_SIGNATURE
                       and not (isinstance(d, pyast.Call) and pysource.dotted(d.func) in _KEEPS_SIGNATURE)]
            if wrapped:
                shown = pyast.unparse(wrapped[0])
                return Dynamic(f"`{where}` is wrapped by the decorator `@{shown}`, "
                               "which may change how it is called")
            return Found(node.args, node.returns, isinstance(node, pyast.AsyncFunctionDef), where, node)
        if isinstance(node, pyast.ImportFrom):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            source = _absolute(module, is_package, node)
            if source is None:
                return Dynamic(f"`{where}` is imported from outside its package")
            found = self._resolve(source, alias.name, hops + 1, seen)
            if isinstance(found, Missing):
                # `from pkg import sub` may name a submodule, which is not callable
                return Dynamic(f"`{where}` is imported from `{source}`, which binds no `{alias.name}`")
            return found
        if isinstance(node, pyast.Import):
            return Dynamic(f"`{where}` is a module, not a function")
        if isinstance(node, pyast.ClassDef):
            return Dynamic(f"`{where}` is a class; adf does not read constructor signatures")
        if isinstance(node, pyast.If | pyast.Try | pyast.With | pyast.For | pyast.While):
            return Dynamic(f"`{where}` is defined conditionally")
        plain = isinstance(node, pyast.AnnAssign) or (
            isinstance(node, pyast.Assign)
            and any(isinstance(t, pyast.Name) and t.id == name for t in node.targets)
        )
        value = node.value if plain and isinstance(node, pyast.Assign | pyast.AnnAssign) else None
        if isinstance(value, pyast.Name):
            found = self._resolve(module, value.id, hops + 1, seen)
            if isinstance(found, Missing) and value.id in vars(builtins):
                return Dynamic(f"`{where}` is Python's builtin `{value.id}`")
            return found
        if isinstance(value, pyast.Lambda):
            return Found(value.args, None, False, where, value)
        if isinstance(value, pyast.Attribute) and isinstance(value.value, pyast.Name):
            imported = imported_module(self._module_tree(module), value.value.id, module, is_package)
            if imported is not None:
                return self._resolve(imported, value.attr, hops + 1, seen)
        return Dynamic(f"`{where}` is assigned from an expression adf cannot evaluate without running it")

    def _module_tree(self, module: str) -> pyast.Module:
        loaded = self._modules[module]
        assert isinstance(loaded, tuple)
        return loaded[0]


def _binds(node: pyast.stmt, name: str) -> bool:
    if isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef | pyast.ClassDef):
        return node.name == name
    if isinstance(node, pyast.Import | pyast.ImportFrom):
        return any((a.asname or a.name.split(".")[0]) == name for a in node.names)
    if isinstance(node, pyast.Assign):
        return any(name in _target_names(t) for t in node.targets)
    if isinstance(node, pyast.AnnAssign | pyast.AugAssign):
        return name in _target_names(node.target) and (
            isinstance(node, pyast.AugAssign) or node.value is not None
        )
    if isinstance(node, pyast.Delete):  # `del name` unbinds it: the last binding is then none
        return any(name in _target_names(t) for t in node.targets)
    if isinstance(node, pyast.If | pyast.Try | pyast.With | pyast.For | pyast.While):
        return any(_binds(child, name) for child in pyast.iter_child_nodes(node) if isinstance(child, pyast.stmt)) or any(
            _binds(child, name)
            for handler in getattr(node, "handlers", [])
            for child in handler.body
        )
    return False


def _conditional_star(node: pyast.stmt) -> bool:
    """`from m import *` under a top-level `if` or `try` (as `os` does for `posix`)."""
    return isinstance(node, pyast.If | pyast.Try) and any(
        isinstance(child, pyast.ImportFrom) and any(a.name == "*" for a in child.names)
        for child in pyast.walk(node)
    )


def _defines(node: pyast.stmt, name: str) -> bool:
    return isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef) and node.name == name


def _target_names(target: pyast.expr) -> set[str]:
    if isinstance(target, pyast.Name):
        return {target.id}
    if isinstance(target, pyast.Tuple | pyast.List):
        return {n for elt in target.elts for n in _target_names(elt)}
    return set()


def _last_binding(tree: pyast.Module, name: str) -> pyast.stmt | None:
    found = None
    for node in tree.body:
        if _binds(node, name):
            found = node  # the last binding wins, as in Python
    return found


def _absolute(module: str, is_package: bool, node: pyast.ImportFrom) -> str | None:
    """The absolute module name an `ImportFrom` reads from, or None when it climbs too far."""
    if node.level == 0:
        return node.module
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if node.level - 1 > len(parts) or (node.level - 1 == len(parts) and not node.module):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    tail = node.module.split(".") if node.module else []
    return ".".join(base + tail) or None


def imported_module(tree: pyast.Module, alias: str, module: str, is_package: bool) -> str | None:
    """The module that `alias` names through `import x [as alias]`, if it does."""
    found = None
    for node in tree.body:
        if isinstance(node, pyast.Import):
            for a in node.names:
                if a.asname == alias:
                    found = a.name
                elif a.asname is None and a.name.split(".")[0] == alias:
                    found = alias
        elif isinstance(node, pyast.ImportFrom) and any((a.asname or a.name) == alias for a in node.names):
            base = _absolute(module, is_package, node)
            real = next(a.name for a in node.names if (a.asname or a.name) == alias)
            found = f"{base}.{real}" if base else None  # `from pkg import submodule`
    return found
