"""The Python calling convention: what `check` accepts, the runtime can call.

Each case binds a function from a module written into a temporary folder and
states the codes `check` gives. For every case that checks clean the test
then loads the function the way the runtime does and calls it by keyword,
with the declared names, so a case that checks but would not run fails here.
"""

from __future__ import annotations

import inspect
import pathlib
import textwrap

import pytest

from adf.compiler.pipeline import compile_source
from adf.stdlib.pyload import load_callable

MODULES = {
    "plain.py": """
        def f(a: str, b: int = 1) -> str:
            return a * b
        def _impl(a: str) -> str:
            return a
        alias = _impl
        twice = alias
        lam = lambda a: a
        def posonly(a, /, b):
            return a
        def star(*args):
            return "".join(args)
        def star_named(a, *args):
            return a
        def kwonly(a, *, k):
            return a
        def kwonly_default(a, *, k=1):
            return a
        def kwargs(**kw):
            return ",".join(sorted(kw))
        def kwargs_posonly(a, /, **kw):
            return a
        async def coro(a):
            return a
        import functools
        partial = functools.partial(f, b=2)
        try:
            from fast import g
        except ImportError:
            def g(a):
                return a
        def h(a: str) -> str:
            return a
        h = _impl
    """,
    "pkg/__init__.py": """
        from .impl import search as find
        from .impl import *
        from . import impl
        via_module = impl.search
    """,
    "pkg/impl.py": """
        def search(query: str) -> str:
            return query
        async def later(query):
            return query
    """,
    "cycle.py": """
        a = b
        b = a
    """,
}

CASES = [
    ("plain", 'fn x(a: str, b: int) -> str = py "plain:f"', []),
    ("default left out", 'fn x(a: str) -> str = py "plain:f"', []),
    ("renamed argument", 'fn x(text: str) -> str = py "plain:f"', ["E0406"]),
    ("wrong type", 'fn x(a: int) -> str = py "plain:f"', ["E0402"]),
    ("missing required", 'fn x(b: int) -> str = py "plain:f"', ["E0401"]),
    ("alias", 'fn x(a: str) -> str = py "plain:alias"', []),
    ("alias of alias", 'fn x(a: str) -> str = py "plain:twice"', []),
    ("alias checked", 'fn x(s: str) -> str = py "plain:twice"', ["E0406"]),
    ("rebound name", 'fn x(z: str) -> str = py "plain:h"', ["E0406"]),
    ("lambda", 'fn x(a: str) -> str = py "plain:lam"', []),
    ("positional-only", 'fn x(a: str, b: str) -> str = py "plain:posonly"', ["E0407"]),
    ("varargs only", 'fn x(a: str) -> str = py "plain:star"', ["E0406"]),
    ("named then varargs", 'fn x(a: str) -> str = py "plain:star_named"', []),
    ("required kw-only missing", 'fn x(a: str) -> str = py "plain:kwonly"', ["E0401"]),
    ("required kw-only given", 'fn x(a: str, k: int) -> str = py "plain:kwonly"', []),
    ("kw-only default", 'fn x(a: str) -> str = py "plain:kwonly_default"', []),
    ("kwargs", 'fn x(anything: str, more: str) -> str = py "plain:kwargs"', []),
    ("kwargs cannot fill posonly", 'fn x(a: str) -> str = py "plain:kwargs_posonly"', ["E0401"]),
    ("async", 'fn x(a: str) -> str = py "plain:coro"', ["E0408"]),
    ("partial", 'fn x(a: str) -> str = py "plain:partial"', ["W0402"]),
    ("conditional", 'fn x(a: str) -> str = py "plain:g"', ["W0402"]),
    ("re-export", 'fn x(query: str) -> str = py "pkg:find"', []),
    ("re-export checked", 'fn x(q: str) -> str = py "pkg:find"', ["E0406"]),
    ("star re-export", 'fn x(query: str) -> str = py "pkg:search"', []),
    ("star re-export async", 'fn x(query: str) -> str = py "pkg:later"', ["E0408"]),
    ("module attribute", 'fn x(query: str) -> str = py "pkg:via_module"', []),
    ("module attribute checked", 'fn x(q: str) -> str = py "pkg:via_module"', ["E0406"]),
    ("cycle", 'fn x(a: str) -> str = py "cycle:a"', ["W0402"]),
    ("missing", 'fn x(a: str) -> str = py "plain:nope"', ["E0404"]),
    ("module missing", 'fn x(a: str) -> str = py "nowhere_adf_test:f"', ["W0401"]),
    ("builtin module", 'fn x(v: float) -> float = py "math:sqrt"', ["W0401"]),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("bindings")
    for name, text in MODULES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.mark.parametrize(("name", "decl", "expected"), CASES, ids=[c[0] for c in CASES])
def test_convention(folder: pathlib.Path, name: str, decl: str, expected: list[str]) -> None:
    result = compile_source(decl + "\n", "t.adf", base_dir=str(folder))
    assert sorted(d.code for d in result.diagnostics) == expected, [
        d.message for d in result.diagnostics
    ]
    if expected:
        return
    # it checks clean: the runtime's call, by keyword with the declared names, must work
    ref = decl.split('py "')[1].rstrip('"')
    function = load_callable(ref, str(folder))
    params = decl.split("(", 1)[1].split(")", 1)[0]
    names = [p.split(":")[0].strip() for p in params.split(",") if p.strip()]
    values = {n: ("1" if "str" in p else 1) for n, p in zip(names, params.split(","), strict=True)}
    result_value = function(**values)
    assert not inspect.isawaitable(result_value)


def test_messages_name_the_convention(folder: pathlib.Path) -> None:
    result = compile_source('fn x(text: str) -> str = py "plain:f"\n', "t.adf", base_dir=str(folder))
    (d,) = result.diagnostics
    assert "adf passes arguments by name" in d.message
    assert "defined as `f(a, b=...)`" in d.secondary[0].message
    assert d.help == "did you mean `a`?" or "rename" in d.help


def test_deep_module_is_a_warning_not_a_crash(folder: pathlib.Path) -> None:
    (folder / "deep.py").write_text("x = " + "-" * 200_000 + "1\ndef f(a): return a\n")
    result = compile_source('fn x(a: str) -> str = py "deep:f"\n', "t.adf", base_dir=str(folder))
    assert [d.code for d in result.diagnostics] == ["W0401"]
    assert "could not be read" in result.diagnostics[0].message


METRIC = '''
def close_enough(pred: float, target: float, *, slack: float = 0.5) -> float:
    return 1.0 if abs(pred - target) <= slack else 0.0
async def later(pred, target):
    return 1.0
def needs(pred, target, *, scale):
    return 1.0
'''


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ('py "metrics:close_enough"(a, t, slack: 1.0)', []),
        ('py "metrics:close_enough"(a, t)', []),
        ('py "metrics:close_enough"(a, t, slak: 1.0)', ["E0212"]),
        ('py "metrics:later"(a, t)', ["E0408"]),
        ('py "metrics:needs"(a, t)', ["E0401"]),
    ],
)
def test_python_metric_as_documented(tmp_path: pathlib.Path, loss: str, expected: list[str]) -> None:
    (tmp_path / "metrics.py").write_text(METRIC, encoding="utf-8")
    source = (
        'model m = "local"\ninput q: str\ntarget t: float\n'
        'llm ask(q: str) -> float { user: "{q}" }\nnode a = ask(q)\n'
        f"loss l = {loss}\noutput a\n"
    )
    result = compile_source(source, "t.adf", base_dir=str(tmp_path))
    assert sorted(d.code for d in result.diagnostics) == expected
    if not expected:
        metric = load_callable(loss.split('"')[1], str(tmp_path))
        options = {"slack": 1.0} if "slack" in loss else {}
        assert metric(1.0, 1.5, **options) == 1.0
