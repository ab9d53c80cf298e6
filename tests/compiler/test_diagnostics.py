"""Fixture snippets with the exact codes and spans they must produce."""

from __future__ import annotations

import pytest

from adf.diagnostics import Severity, Span

from .conftest import HEADER, codes, compile_text

CASES = [
    # (name, source, expected codes)
    ("clean", HEADER + 'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(q)\noutput a\n', []),
    (
        "undefined once, no follow-on type error",
        HEADER
        + 'llm ask(q: str) -> str { user: "{q}" }\nfn n(text: str) -> int = std.parse.last_int\nnode a = n(ask(qq))\noutput a\n',
        ["E0102"],
    ),
    ("undefined function", HEADER + "node a = nope(q)\noutput a\n", ["E0102"]),
    (
        "several errors in one run",
        HEADER + 'llm ask(q: str) -> str { user: "{x}" }\nnode a = ask(zz)\nnode b = ask(a, a)\n',
        ["E0102", "E0204", "E0207"],
    ),
    (
        "param used as a value",
        HEADER
        + 'param p: prompt = "x"\nllm ask(q: str) -> str { system: [p]\n user: "{q}" }\nnode a = ask(p)\n',
        ["E0104"],
    ),
    (
        "list plus item",
        HEADER
        + 'llm ask(q: str) -> str { user: "{q}" }\nstate s: list[str] = []\nloop i in 0..2 {\n node a = ask(q)\n s = s + a\n}\n',
        ["E0203"],
    ),
    (
        "list plus list item",
        HEADER
        + 'llm ask(q: str) -> str { user: "{q}" }\nstate s: list[str] = []\nloop i in 0..2 {\n node a = ask(q)\n s = s + [a]\n}\n',
        [],
    ),
    ("state type", HEADER + 'state s: int = "zero"\n', ["E0201"]),
    (
        "cycle of three",
        HEADER
        + 'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(c)\nnode b = ask(a)\nnode c = ask(b)\n',
        ["E0301"],
    ),
    ("self cycle", HEADER + 'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(a)\n', ["E0301"]),
    (
        "cycle inside one loop step",
        HEADER
        + 'llm ask(q: str) -> str { user: "{q}" }\nloop i in 0..2 {\n node a = ask(b)\n node b = ask(a)\n}\n',
        ["E0301"],
    ),
    (
        "loop var outside loop",
        HEADER
        + 'llm ask(q: str, n: int) -> str { user: "{q}{n}" }\nloop i in 0..2 {\n node a = ask(q, i)\n}\nnode b = ask(q, i)\n',
        ["E0102"],
    ),
    (
        "enum flows to str",
        HEADER
        + 'llm c(q: str) -> enum{A, B} { user: "{q}" }\nllm ask(q: str) -> str { user: "{q}" }\nnode a = ask(c(q))\n',
        [],
    ),
    (
        "int flows to float",
        HEADER
        + 'llm c(q: str) -> int { user: "{q}" }\nfn f(text: float) -> float = std.parse.last_number\n',
        ["E0402"],
    ),
    (
        "keyword args",
        HEADER + 'llm ask(q: str, r: str) -> str { user: "{q}{r}" }\nnode a = ask(r: q, q: q)\n',
        [],
    ),
    ("env name invalid", 'model m = "x" { api_key: env("not a name") }\n', ["E0213"]),
    ("demos over max", HEADER + 'param d: demos(max: 1) = [{q: "a"}, {q: "b"}]\n', ["E0213"]),
    ("demos unknown option", HEADER + "param d: demos(most: 1) = []\n", ["E0212"]),
    ("train role not a model", HEADER + "train { backward: q }\n", ["E0105"]),
    ("std metric unknown", HEADER + "target t: str\nloss l = std.loss.exact(q, t)\n", ["E0109"]),
    ("duplicate output", HEADER + "output q\noutput q\n", ["E0101"]),
    (
        "record output",
        HEADER + 'llm r(q: str) -> {name: str, age: int} { user: "{q}" }\nnode a = r(q)\n',
        [],
    ),
    (
        "py binding next to the file",
        HEADER + 'fn s(query: str) -> list[str] = py "retrieval:search"\nnode a = s(q)\n',
        [],
    ),
    (
        "py binding wrong result",
        HEADER + 'fn s(query: str) -> int = py "retrieval:search"\nnode a = s(q)\n',
        ["E0403"],
    ),
    (
        "py binding extra argument",
        HEADER + 'fn s(query: str, k: int) -> list[str] = py "retrieval:search"\n',
        ["E0406"],
    ),
    (
        "py binding missing argument",
        HEADER + 'fn s() -> list[str] = py "retrieval:search"\n',
        ["E0401"],
    ),
    (
        "py function missing",
        HEADER + 'fn s(query: str) -> list[str] = py "retrieval:find"\n',
        ["E0404"],
    ),
]


@pytest.mark.parametrize(("name", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_codes(name: str, source: str, expected: list[str]) -> None:
    assert codes(source) == sorted(expected)


def test_primary_span_of_undefined_name() -> None:
    result = compile_text(HEADER + 'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(qq)\n')
    (d,) = result.diagnostics
    assert d.primary.span == Span(4, 14, 4, 16)
    assert d.file == "t.adf"
    assert d.severity is Severity.ERROR
    assert "did you mean `q`?" in d.help


def test_cycle_message_names_the_cycle() -> None:
    result = compile_text(
        HEADER + 'llm ask(q: str) -> str { user: "{q}" }\nnode a = ask(b)\nnode b = ask(a)\n'
    )
    (d,) = result.diagnostics
    assert d.message == "cycle: `a` -> `b` -> `a`"
    assert [lab.span.line for lab in d.secondary] == [4, 5]


def test_placeholder_span_points_inside_the_string() -> None:
    result = compile_text(
        HEADER + 'llm ask(q: str) -> str {\n  user: """line one\nthen {nope} here"""\n}\n'
    )
    spans = [d.primary.span for d in result.diagnostics if d.code == "E0207"]
    assert spans == [Span(5, 6, 5, 12)]


def test_warnings_do_not_block_the_plan() -> None:
    result = compile_text(
        HEADER
        + 'input c: str\nllm ask(q: str, c: str) -> str { user: "{q}" }\nnode a = ask(q, c)\noutput a\n'
    )
    assert [d.code for d in result.diagnostics] == ["W0201"]
    assert result.plan is not None


def test_errors_block_the_plan() -> None:
    assert compile_text(HEADER + "node a = nope(q)\n").plan is None
