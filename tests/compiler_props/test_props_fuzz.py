"""No input makes the compiler crash: it always answers with diagnostics.

Random text and bytes, programs generated from the grammar itself
(`hypothesis.extra.lark.from_lark` over `adf.lark`), token soup, examples
cut short or mutated, deep nesting and 1 MB lines. A clean result must also
carry a plan that round-trips through the codec (see `props_fuzz`).
"""

from __future__ import annotations

import pathlib

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from props_fuzz import EXAMPLE_TEXTS, REPO, compile_bytes, compile_checked

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GRAMMAR = (REPO / "src" / "adf" / "syntax" / "adf.lark").read_text(encoding="utf-8")
KEYWORDS = [
    "model", "train", "param", "prompt", "demos", "frozen", "trainable", "input", "target",
    "from", "enum", "llm", "using", "fn", "py", "node", "state", "loop", "in", "loss",
    "output", "env", "true", "false",
]  # fmt: skip
NAMES = ["q", "a", "b", "m", "s", "x", "std", "parse", "last_int", "loss", "text", "list", "str", "int"]


def _spaced(text: str) -> st.SearchStrategy[str]:
    return st.just(f" {text} ")


def _grammar_programs() -> st.SearchStrategy[str]:
    parser = lark.Lark(GRAMMAR, parser="lalr", lexer="contextual")
    explicit: dict[str, st.SearchStrategy[str]] = {kw.upper(): _spaced(kw) for kw in KEYWORDS}
    explicit["NAME"] = st.sampled_from(NAMES).map(lambda n: f" {n} ")
    explicit["INT"] = st.integers(-3, 1200).map(lambda n: f" {n} ")
    explicit["STRING"] = st.sampled_from(['"x"', '"{q}"', '"{nope}"', '"a\\nb"', '"std.parse.last_int"', '"m:f"', '""'])
    explicit["LONG_STRING"] = st.sampled_from(['"""two\nlines {q}"""', '""""""'])
    explicit["FLOAT"] = st.sampled_from([" 0.5 ", " -1e3 ", " 1e999 "])
    explicit["COMMENT"] = st.just("# note\n")
    return from_lark(parser, explicit=explicit)


TOKENS = [*KEYWORDS, *NAMES, "=", ":", ",", "{", "}", "(", ")", "[", "]", "->", ".", "..", "+",
          '"s"', '"""t"""', "1", "0", "-1", "2.5", "#c\n", "\n", "std.parse.last_int", 'py "retrieval:search"']  # fmt: skip


@FAST
@given(st.text())
def test_random_text(text: str) -> None:
    compile_checked(text)


@FAST
@given(st.binary())
def test_random_bytes_from_a_file(data: bytes) -> None:
    compile_bytes(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_grammar_programs())
def test_programs_from_the_grammar(text: str) -> None:
    compile_checked(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup(tokens: list[str]) -> None:
    compile_checked(" ".join(tokens))


@pytest.mark.parametrize("name", sorted(EXAMPLE_TEXTS))
def test_every_prefix_of_every_example(name: str) -> None:
    text = EXAMPLE_TEXTS[name]
    cuts = sorted(set(range(0, len(text), 13)) | {i for i, c in enumerate(text) if c in '"{}()[]\n'})
    for cut in cuts:
        compile_checked(text[:cut])


@FAST
@given(st.sampled_from(sorted(EXAMPLE_TEXTS)), st.data())
def test_mutated_examples(name: str, data: st.DataObject) -> None:
    text = EXAMPLE_TEXTS[name]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        piece = data.draw(st.sampled_from(TOKENS))
        end = min(len(text), at + data.draw(st.integers(1, 40)))
        if action == "delete":
            text = text[:at] + text[end:]
        elif action == "insert":
            text = text[:at] + f" {piece} " + text[at:]
        elif action == "replace":
            text = text[:at] + piece + text[end:]
        else:
            text = text[:end] + text[at:end] + text[end:]
    compile_checked(text)


@FAST
@given(st.sampled_from(sorted(EXAMPLE_TEXTS)), st.binary(min_size=1, max_size=8), st.data())
def test_examples_with_invalid_utf8(name: str, junk: bytes, data: st.DataObject) -> None:
    raw = EXAMPLE_TEXTS[name].encode("utf-8")
    at = data.draw(st.integers(0, len(raw)))
    compile_bytes(raw[:at] + b"\xff" + junk + raw[at:])


HEAD = 'model m = "local"\ninput q: str\nllm f(x: str) -> str using m { user: "{x}" }\n'
DEEP = 10_000
NESTED = {
    "brackets": "[" * DEEP,
    "closing": "]" * DEEP + ")" * DEEP + "}" * DEEP,
    "list literal": HEAD + "node a = " + "[" * DEEP + "]" * DEEP,
    "calls": HEAD + "node a = " + "f(" * DEEP + "q" + ")" * DEEP + "\noutput a\n",
    "unclosed calls": HEAD + "node a = " + "f(" * DEEP,
    "parens": HEAD + "node a = " + "(" * DEEP + "q" + ")" * DEEP + "\noutput a\n",
    "list types": HEAD + "input z: " + "list[" * DEEP + "str" + "]" * DEEP,
    "record types": HEAD + "input z: " + "{a: " * DEEP + "str" + "}" * DEEP,
    "record literals": HEAD + "node a = " + "{a: " * DEEP + "q" + "}" * DEEP,
    "enum in list types": HEAD + "input z: " + "list[" * DEEP + "enum{A}" + "]" * DEEP,
    "sections": HEAD + "llm g(x: str) -> str using m {" + "user: [" * DEEP,
    "long + chain": HEAD + "node a = q" + " + q" * 3000 + "\noutput a\n",
    "long call chain": HEAD + "".join(f"node n{i} = f(n{i - 1})\n" for i in range(1, 1000)) + "node n0 = f(q)\noutput n999\n",
}
BIG = 1_000_000
LINES = {
    "comment": "#" + "x" * BIG + "\n" + HEAD,
    "string": HEAD + 'param p: prompt = "' + "x" * BIG + '"\n',
    "long string": HEAD + 'param p: prompt = """' + "x\n" * (BIG // 2) + '"""\n',
    "unterminated string": HEAD + 'param p: prompt = "' + "x" * BIG,
    "unterminated long string": HEAD + 'param p: prompt = """' + "x" * BIG,
    "name": HEAD + "node " + "x" * BIG + " = f(q)\n",
    "junk": "@" * BIG,
    "spaces": " " * BIG + "\n" + HEAD,
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_deep_nesting(name: str) -> None:
    compile_checked(NESTED[name])


@pytest.mark.parametrize("name", sorted(LINES))
def test_one_megabyte_lines(name: str) -> None:
    compile_checked(LINES[name])


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + "model m = \"local\"\n".encode("utf-16-le"),
        "model m = \"local\"\n".encode("utf-16"),
        b"\xef\xbb\xbfmodel m = \"local\"\n",
        b"model m = \"local\" # \xc3\x28\n",
        b"\xed\xa0\x80",
        b"\x00" * 100,
        b"\x80" * 100_000,
        "# é\n".encode("latin-1"),
    ],
    ids=["utf16-bom", "utf16", "utf8-bom", "bad-continuation", "encoded-surrogate", "nul", "junk", "latin1"],
)
def test_non_utf8_files(data: bytes) -> None:
    compile_bytes(data)


def test_unreadable_paths(tmp_path: pathlib.Path) -> None:
    from adf.compiler.pipeline import compile_file

    for path in (tmp_path, tmp_path / "missing.adf", tmp_path / ("x" * 5000)):
        result = compile_file(str(path))
        assert [d.code for d in result.diagnostics] == ["E0007"]
