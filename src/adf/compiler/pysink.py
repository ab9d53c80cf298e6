"""Which `py` bindings run shell commands or evaluate code, read statically.

Takes a `py` reference (`module:function`) and a `Resolver`; gives a `Sink`
(the entry point reached and, for a user function that calls one, which
parameter reaches it) or None. Nothing is imported or run.

Two ways a binding is a sink:
- the reference itself ends at a known entry point (`subprocess:run`,
  `os:system`, `builtins:eval`, ...), directly or through the aliases and
  re-exports `pyresolve` follows (`from subprocess import run as r`);
- the reference ends at a user function whose own body calls such an entry
  point with one of its parameters, or with a local name assigned from one.
  This is one level deep: a call made through another user function, a
  value kept in a container or attribute, or a callable picked at run time
  (`getattr`, `importlib`) is not seen.
"""

from __future__ import annotations

import ast as pyast
import sys
from collections.abc import Iterator

from adf.compiler.pyresolve import Found, Resolver, imported_module
from adf.compiler.records import Sink as Sink

_OS_EXEC = ("execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe")
_OS_SPAWN = ("spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe")
_SUBPROCESS = ("run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput")

# "module:name" -> what it does, for the message
ENTRY_POINTS: dict[str, str] = {
    **{f"{m}:{n}": "runs a shell command" for m in ("os", "posix") for n in ("system", "popen")},
    **{f"{m}:{n}": "runs a program" for m in ("os", "posix") for n in (*_OS_EXEC, *_OS_SPAWN)},
    **{f"{m}:{n}": "runs a program" for m in ("os", "posix") for n in ("posix_spawn", "posix_spawnp")},
    **{f"subprocess:{n}": "runs a program or shell command" for n in _SUBPROCESS},
    **{f"commands:{n}": "runs a shell command" for n in ("getoutput", "getstatusoutput", "getstatus")},
    "asyncio:create_subprocess_shell": "runs a shell command",
    "asyncio:create_subprocess_exec": "runs a program",
    "pty:spawn": "runs a program",
    "builtins:eval": "evaluates Python code",
    "builtins:exec": "executes Python code",
    "builtins:compile": "compiles Python code",
}
_BUILTINS = {key.partition(":")[2] for key in ENTRY_POINTS if key.startswith("builtins:")}


def find_sink(module: str, name: str, resolver: Resolver) -> Sink | None:
    entry, found = _entry(module, name, resolver)
    if entry is not None:
        return Sink(entry, ENTRY_POINTS[entry], None, None)
    if not isinstance(found, Found) or found.definition is None:
        return None
    def_module = found.where.partition(":")[0]
    loaded = resolver.module_tree(def_module)
    if loaded is None:
        return None
    tree, is_package = loaded
    for call, param in _calls_with_params(found.definition):
        called = _callee(call.func, tree, def_module, is_package, resolver)
        if called is not None:
            return Sink(called, ENTRY_POINTS[called], found.where, param)
    return None


def _entry(module: str, name: str, resolver: Resolver) -> tuple[str | None, object]:
    """The entry point a reference reaches (if any) and how it resolved."""
    trail, found = resolver.trail(module, name)
    for key in trail:
        if key in ENTRY_POINTS:
            return key, found
    last = trail[-1].partition(":")[2] if trail else name
    if last in _BUILTINS and not isinstance(found, Found):
        return f"builtins:{last}", found  # `ev = eval`: a name Python finds in builtins
    return None, found


def _callee(
    func: pyast.expr, tree: pyast.Module, module: str, is_package: bool, resolver: Resolver
) -> str | None:
    if isinstance(func, pyast.Name):
        entry, _ = _entry(module, func.id, resolver)
        return entry
    if isinstance(func, pyast.Attribute) and isinstance(func.value, pyast.Name):
        source = imported_module(tree, func.value.id, module, is_package)
        if source is None:
            return None
        key = f"{source}:{func.attr}"
        if key in ENTRY_POINTS or source.split(".")[0] in sys.stdlib_module_names:
            return key if key in ENTRY_POINTS else None
        entry, _ = _entry(source, func.attr, resolver)  # a user module re-exporting one
        return entry
    return None


def _calls_with_params(
    definition: pyast.FunctionDef | pyast.AsyncFunctionDef | pyast.Lambda,
) -> Iterator[tuple[pyast.Call, str]]:
    """Calls in the function's own body with an argument that mentions a parameter
    (or a local name assigned from one), with that parameter."""
    args = definition.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    origin = {p: p for p in params}  # local name -> the parameter it carries
    body = definition.body if isinstance(definition.body, list) else [definition.body]
    nodes = [n for stmt in body for n in pyast.walk(stmt)]
    assigns = [n for n in nodes if isinstance(n, pyast.Assign | pyast.AnnAssign | pyast.AugAssign)]
    changed = True
    while changed:  # at most one round per assignment
        changed = False
        for node in assigns:
            if node.value is None:
                continue
            carried = _mentions(node.value, origin)
            if carried is None:
                continue
            targets = node.targets if isinstance(node, pyast.Assign) else [node.target]
            for target in targets:
                for named in pyast.walk(target):
                    if isinstance(named, pyast.Name) and named.id not in origin:
                        origin[named.id] = carried
                        changed = True
    for call in nodes:
        if isinstance(call, pyast.Call):
            for arg in (*call.args, *(k.value for k in call.keywords)):
                carried = _mentions(arg, origin)
                if carried is not None:
                    yield call, carried
                    break


def _mentions(expr: pyast.expr, origin: dict[str, str]) -> str | None:
    for node in pyast.walk(expr):
        if isinstance(node, pyast.Name) and node.id in origin:
            return origin[node.id]
    return None
