"""Syntax errors that speak: the common mistakes are named, and carets follow display width."""

from __future__ import annotations

import pytest

from adf.compiler.pipeline import compile_source
from adf.compiler.render import render_human

HEAD = 'model m = "local"\ninput q: str\n'


@pytest.mark.parametrize(
    ("source", "code", "message", "line_col", "help"),
    [
        (
            HEAD + 'llm a(q: str) -> str using m {\n  user: "{q}"\n\nnode n = a(q)\noutput n\n',
            "E0001", "unclosed `{`", (3, 30), "close it with `}`",
        ),
        (HEAD + "node n = f(q\n", "E0003", "unclosed `(`", (3, 11), "close it with `)`"),
        (HEAD + "node n = [q, q\n", "E0003", "unclosed `[`", (3, 10), "close it with `]`"),
        (HEAD + "node n = f(q]\n", "E0001", "unclosed `(`", (3, 11), "close it with `)`"),
        ('param p: prompt = """abc\n\nmore\n', "E0005", 'unterminated `"""` string', (1, 19), '`"""`'),
        (HEAD + "nod n = q\n", "E0001", "unknown keyword `nod`", (3, 1), "did you mean `node`?"),
        ('parm p: prompt = "x"\n', "E0001", "unknown keyword `parm`", (1, 1), "did you mean `param`?"),
        ("lop i in 0..3 {\n}\n", "E0001", "unknown keyword `lop`", (1, 1), "did you mean `loop`?"),
        ("input q: enum[A, B]\n", "E0001", "enum variants go in braces, not brackets", (1, 14), "enum{A, B}"),
        ("import os\n", "E0001", "`import` is not part of the language", (1, 1), "py \"module:function\""),
        ("for x in y {\n}\n", "E0001", "`for` is not part of the language", (1, 1), "loop i in 0..N"),
        ("def f(x):\n", "E0001", "`def` is not part of the language", (1, 1), "fn NAME"),
        ("return x\n", "E0001", "`return` is not part of the language", (1, 1), "output NAME"),
    ],
)
def test_named_mistake(source: str, code: str, message: str, line_col: tuple[int, int], help: str) -> None:
    diagnostics = compile_source(source, "t.adf").diagnostics
    assert len(diagnostics) == 1, [d.message for d in diagnostics]
    (d,) = diagnostics
    assert (d.code, d.message) == (code, message)
    assert (d.primary.span.line, d.primary.span.col) == line_col
    assert help in d.help


def test_node_named_like_its_llm_is_one_error() -> None:
    source = HEAD + 'llm ask(q: str) -> str using m { user: "{q}" }\nnode ask = ask(q)\noutput ask\n'
    assert [d.code for d in compile_source(source, "t.adf").diagnostics] == ["E0101"]


@pytest.mark.parametrize("prefix", ["日本語 ", "🙂 ", "e\u0301e\u0301 ", "\t"])
def test_carets_follow_display_width(prefix: str) -> None:
    import unicodedata

    source = HEAD + f'llm a(q: str) -> str using m {{ user: "{prefix}{{qq}}" }}\nnode n = a(q)\noutput n\n'
    result = compile_source(source, "t.adf")
    (d,) = [d for d in result.diagnostics if d.code == "E0207"]
    lines = render_human([d], {"t.adf": source}).splitlines()
    code_line = next(line for line in lines if line.startswith("3 |"))
    caret_line = next(line for line in lines if "^" in line)

    def width(text: str) -> int:
        text = text.replace("\t", "    ")
        return sum(
            0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
            for c in text
        )

    before_hole = code_line[: code_line.index("{qq}")]
    assert caret_line.index("^") == width(before_hole)
