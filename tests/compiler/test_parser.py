"""The parser: tables up to date, spans, strings, syntax errors, robustness."""

from __future__ import annotations

from adf.syntax import _tables, ast
from adf.syntax.parser import parse
from adf.syntax.regenerate import GRAMMAR, grammar_hash, render_tables


def test_tables_match_grammar() -> None:
    text = GRAMMAR.read_text(encoding="utf-8")
    assert grammar_hash(text) == _tables.GRAMMAR_SHA256, "run: python -m adf.syntax.regenerate"
    fresh = render_tables(text)
    assert "STATES = (" in fresh and fresh.count("\n") > 100


def test_spans_and_values() -> None:
    program, diags = parse('param p: prompt "role" = """two\nlines"""\nnode a = f(x, k: "v")\n')
    assert diags == ()
    assert program is not None
    param, node = program.decls
    assert isinstance(param, ast.ParamDecl)
    assert param.value == ast.StrLit("two\nlines", param.value.span, 3)
    assert param.value.raw == '"""two\nlines"""'
    assert (
        param.value.span.line,
        param.value.span.col,
        param.value.span.end_line,
        param.value.span.end_col,
    ) == (1, 26, 2, 9)
    assert param.description is not None and param.description.value == "role"
    assert isinstance(node, ast.NodeDecl) and isinstance(node.value, ast.Call)
    assert [a.name.name if a.name else None for a in node.value.args] == [None, "k"]
    assert node.value.span.col == 10


def test_escapes() -> None:
    program, diags = parse('param p: prompt = "a\\n\\t\\"b\\u00e9"\n')
    assert diags == () and program is not None
    decl = program.decls[0]
    assert isinstance(decl, ast.ParamDecl) and isinstance(decl.value, ast.StrLit)
    assert decl.value.value == 'a\n\t"bé'


def test_keywords_are_names_where_only_a_name_fits() -> None:
    program, diags = parse('param d: demos = [{input: "x", output: "y"}]\n')
    assert diags == () and program is not None


def test_expected_tokens_in_message() -> None:
    _, diags = parse('model m = "x" { temperature 0 }\n')
    assert [d.code for d in diags] == ["E0001"]
    assert diags[0].message == "expected `:`, found the number `0`"
    assert (diags[0].primary.span.line, diags[0].primary.span.col) == (1, 29)


def test_several_syntax_errors_are_reported() -> None:
    _, diags = parse("node a = = 1\nnode b = 2\nnode c = )\n")
    assert [d.code for d in diags] == ["E0001", "E0001"]
    assert [d.primary.span.line for d in diags] == [1, 3]


def test_eof_and_unterminated() -> None:
    assert [d.code for d in parse("llm f(x: str) -> str {")[1]] == ["E0003"]
    assert [d.code for d in parse('node a = "abc\n')[1]] == ["E0005"]
    assert [d.code for d in parse('node a = """abc\n')[1]] == ["E0005"]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    _, diags = parse("node a = " + "[" * 5000 + "]" * 5000)
    assert [d.code for d in diags] == ["E0006"]


def test_long_add_chain_parses_flat() -> None:
    program, diags = parse("node a = " + " + ".join(["x"] * 20000) + "\n")
    assert diags == () and program is not None
    decl = program.decls[0]
    assert isinstance(decl, ast.NodeDecl) and isinstance(decl.value, ast.Add)
    assert len(decl.value.terms) == 20000


def test_garbage_never_raises() -> None:
    samples = [
        "\x00\x01",
        "}}}}",
        "model",
        '"""',
        "loop x in 0..",
        "é" * 100,
        "\ufeffnode",
        "#" * 10**6,
    ]
    for text in samples:
        program, diags = parse(text)
        assert program is None or diags == ()
