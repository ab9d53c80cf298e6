"""The layer rules of docs/architecture.md, enforced by reading every import under src/adf.

Each package may import only the packages listed for it in `ALLOWED` (the
module map's one-way layers); imports under `if TYPE_CHECKING:` count too,
since a type annotation is a dependency as well. `EXCEPTIONS` lists the
module-level imports that break a rule on purpose, each with its reason; a
test fails once one of them is gone, so the list stays true.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "adf"

ALLOWED: dict[str, frozenset[str]] = {
    # the base of the generated record classes, and `replace`/`fields`: for everyone
    "records": frozenset(),
    "diagnostics": frozenset(),
    "diagnostics_spec": frozenset(),  # the declarations `adf.diagnostics` is generated from
    "prompts": frozenset(),
    "stdlib": frozenset({"diagnostics"}),
    "local": frozenset({"diagnostics"}),
    "plan": frozenset({"diagnostics"}),
    "syntax": frozenset({"diagnostics", "plan"}),
    "compiler": frozenset({"diagnostics", "syntax", "plan", "stdlib"}),
    "llm": frozenset({"diagnostics", "plan", "local"}),
    # prompts: the forecast sizes the training prompts from their templates
    "analysis": frozenset({"diagnostics", "plan", "llm", "compiler", "prompts"}),
    "runtime": frozenset({"diagnostics", "plan", "llm", "stdlib", "prompts"}),
    "optim": frozenset({"diagnostics", "plan", "llm", "runtime", "stdlib", "prompts"}),
    # fakes and scripted tasks for tests and benchmarks: plans, model calls, samples
    "testing": frozenset({"diagnostics", "plan", "llm", "runtime", "stdlib"}),
    # the Ray executor behind the runtime's executor seam (the optional adf[ray] extra)
    "scale": frozenset({"diagnostics", "plan", "llm", "runtime", "optim", "stdlib", "prompts",
                        "local"}),
    "workflow": frozenset({"scale", "diagnostics", "plan", "llm", "runtime", "optim", "analysis",
                           "compiler", "syntax", "stdlib", "local", "prompts"}),
    "api": frozenset({"scale", "diagnostics", "plan", "llm", "runtime", "optim", "analysis", "compiler",
                      "syntax", "stdlib", "local", "prompts", "workflow"}),
    "serve": frozenset({"scale", "diagnostics", "plan", "llm", "runtime", "optim", "analysis", "compiler",
                        "syntax", "stdlib", "local", "prompts", "workflow", "api"}),
    "lsp": frozenset({"scale", "diagnostics", "plan", "llm", "runtime", "optim", "analysis", "compiler",
                      "syntax", "stdlib", "local", "prompts", "workflow"}),
    "adf": frozenset({"api", "workflow"}),  # the package root re-exports the Python API
    "cli": frozenset({"scale", "diagnostics", "plan", "llm", "runtime", "optim", "analysis", "compiler",
                      "syntax", "stdlib", "local", "prompts", "workflow", "lsp", "api", "serve",
                      "testing"}),
}
# (importing module, imported module): why the rule is broken
EXCEPTIONS: dict[tuple[str, str], str] = {}


def imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported adf module) for every import in src/adf."""
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [_submodule(node.module, alias.name) for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("adf."):  # `adf` itself (its version) is for everyone
                    yield module, name


def _submodule(module: str, name: str) -> str:
    """`adf.syntax.ast` for `from adf.syntax import ast`, else the module imported from."""
    candidate = SRC.parent.joinpath(*f"{module}.{name}".split("."))
    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
        return f"{module}.{name}"
    return module


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "adf"  # `adf` itself: its __init__


def test_every_package_has_a_rule() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"} | {"adf"}
    assert packages <= set(ALLOWED), f"no layer rule for {sorted(packages - set(ALLOWED))}"


def test_imports_follow_the_layers() -> None:
    broken = []
    for importer, imported in imports():
        source, target = package(importer), package(imported)
        if source == target or target == "records" or target in ALLOWED.get(source, frozenset()):
            continue
        if (importer, imported) in EXCEPTIONS:
            continue
        broken.append(f"{importer} imports {imported} ({source} may not import {target})")
    assert not broken, "\n".join(broken)


def test_every_exception_is_still_needed() -> None:
    found = set(imports())
    gone = [f"{a} -> {b}" for a, b in EXCEPTIONS if (a, b) not in found]
    assert not gone, "remove from EXCEPTIONS (the import is gone): " + ", ".join(gone)


def test_packages_import_each_other_one_way() -> None:
    edges: dict[str, set[str]] = {}
    for importer, imported in imports():
        if (importer, imported) in EXCEPTIONS:
            continue
        source, target = package(importer), package(imported)
        if source != target:
            edges.setdefault(source, set()).add(target)
    for start in edges:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                assert nxt != start, "import cycle: " + " -> ".join((*path, nxt))
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))


def test_the_runtime_and_training_never_see_source_text() -> None:
    """The runtime, the model-call package and the trainer read plans only."""
    for importer, imported in imports():
        if package(importer) in ("runtime", "llm", "optim"):
            assert not imported.startswith(("adf.syntax", "adf.compiler")), (importer, imported)
