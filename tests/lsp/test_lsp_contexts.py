"""The lexical reading of half-typed text that completion and quick fixes rely on."""

from __future__ import annotations

from adf.compiler.report import diag
from adf.diagnostics import Span
from adf.lsp.actions import fixes
from adf.lsp.analysis import Analyses
from adf.lsp.completion import complete
from adf.lsp.lexemes import blank, in_comment, open_string, starts_inside_string

SOURCE = '''model m = "local" { temperature: 0 }
input q: str
param p: prompt = """first line
second { line"""
llm ask(q: str) -> str {
  user: "{{literal}} {q}"
}
node a = ask(q)  # a comment
output a
'''


def at(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    index = text.index(needle) + offset
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def test_strings_and_comments_are_found_in_half_typed_text() -> None:
    assert open_string('node a = "abc') == 9
    assert open_string('node a = "abc"') is None
    assert open_string('x = """one\ntwo') == 4
    assert in_comment("node a = b  # why")
    assert not in_comment('node a = "# not a comment')
    assert blank('a = "{x}" # }') == 'a = "   "    '
    assert starts_inside_string(SOURCE, 4)
    assert not starts_inside_string(SOURCE, 3) and not starts_inside_string(SOURCE, 5)


def test_completion_reads_the_context_around_the_cursor() -> None:
    semantics = Analyses().semantics("t.adf", SOURCE)
    assert semantics is not None
    labels = {c.label for c in complete(SOURCE, *at(SOURCE, "# a comment", 3), semantics)}
    assert labels == set()
    in_prompt = complete(SOURCE, *at(SOURCE, "second {", 8), semantics)
    assert in_prompt == []  # a param's text is no template
    hole = SOURCE.replace('{q}"', '{"')
    names = {c.label for c in complete(hole, *at(hole, '{"', 1), semantics)}
    assert names == {"q"}
    top = {c.label for c in complete(SOURCE, *at(SOURCE, "output"), semantics)}
    assert {"a", "ask", "m", "p", "q", "model", "str"} <= top
    # braces inside strings do not open blocks: after the llm, no option names are offered
    assert "temperature" not in top


def test_no_suppression_comment_inside_a_multi_line_string() -> None:
    inside = diag("W0201", "w", Span(4, 1, 4, 3))
    assert not any("allow" in f.title for f in fixes(inside, SOURCE))
    outside = diag("W0201", "w", Span(5, 5, 5, 8))
    (fix,) = [f for f in fixes(outside, SOURCE) if "allow" in f.title]
    assert fix.edits[0].text == "# adf: allow W0201\n"


def test_completion_offers_every_keyword_and_every_model_option_the_checker_knows() -> None:
    from adf.plan.model_options import OPTIONS
    from adf.syntax import _tables

    semantics = Analyses().semantics("t.adf", SOURCE)
    top = {c.label for c in complete(SOURCE, *at(SOURCE, "output"), semantics)}
    assert set(_tables.KEYWORDS) <= top  # map, until, tools, match, const, and/or/not …
    assert {"system", "user", "finish"} <= top  # llm sections are names to the grammar
    options = {c.label for c in complete(SOURCE, *at(SOURCE, "temperature"), semantics)}
    assert options == set(OPTIONS)  # the one option table, `x_` extras aside
