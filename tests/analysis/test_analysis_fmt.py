"""`adfc fmt`: expected layout, comments kept, idempotent, the compiled plan unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adf import records
from adf.compiler.codes import all_codes
from adf.compiler.pipeline import compile_source
from adf.diagnostics import Span
from adf.plan.schema import Plan
from adf.syntax.fmt import format_source, tokens

MESSY = '''# header comment

model student="local"{temperature:0,max_tokens:256}
model gpt = "openai/gpt-4o-mini" {
    api_key: env( "OPENAI_API_KEY" ),
  temperature : 0 }
train{backward:student,optimizer:student}


param instruction : prompt "the task" = """Answer the question.
   Think   step by step."""      # aligned comment
param examples: demos( max : 3 ) = [ ]
input question:str
target answer : int
target label: enum{ ABBR,DESC } from "coarse_label"
llm solve(question: str) -> str using student { system: [instruction, examples]
   user: "Question: {question}" }
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve( question )
node pred  = last_int(reply)
loss acc   = std.loss.exact_match(pred, answer)
output pred
state notes: list[str] = [ ]
loop hop in 0..2 {   # two steps
  node q = solve(question)

  # keep what was found
  notes = notes+lines(q)
}
fn lines(text: str) -> list[str] = std.text.lines
output notes
# trailing comment
'''

EXPECTED = '''# header comment

model student = "local" { temperature: 0, max_tokens: 256 }
model gpt = "openai/gpt-4o-mini" {
  api_key: env("OPENAI_API_KEY"),
  temperature: 0
}
train { backward: student, optimizer: student }

param instruction: prompt "the task" = """Answer the question.
   Think   step by step."""  # aligned comment
param examples: demos(max: 3) = []
input question: str
target answer: int
target label: enum{ABBR, DESC} from "coarse_label"
llm solve(question: str) -> str using student {
  system: [instruction, examples]
  user: "Question: {question}"
}
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve(question)
node pred = last_int(reply)
loss acc = std.loss.exact_match(pred, answer)
output pred
state notes: list[str] = []
loop hop in 0..2 {  # two steps
  node q = solve(question)

  # keep what was found
  notes = notes + lines(q)
}
fn lines(text: str) -> list[str] = std.text.lines
output notes
# trailing comment
'''


def fmt(text: str) -> str:
    out, diagnostics = format_source(text)
    assert out is not None, diagnostics
    return out


def without_positions(value: Any) -> Any:
    """A plan with every span and the source hash blanked out."""
    if isinstance(value, Span):
        return Span(0, 0, 0, 0)
    if records.has(type(value)):
        changes = {f.name: without_positions(getattr(value, f.name)) for f in records.fields(type(value))}
        if isinstance(value, Plan):
            changes["source_hash"] = ""
        return type(value)(**changes)
    if isinstance(value, tuple):
        return tuple(without_positions(v) for v in value)
    return value


def same_program(before: str, after: str) -> None:
    a, b = compile_source(before, "x.adf"), compile_source(after, "x.adf")
    assert [d.code for d in a.diagnostics] == [d.code for d in b.diagnostics]
    assert (a.plan is None) == (b.plan is None)
    if a.plan is not None:
        assert without_positions(a.plan) == without_positions(b.plan)


def test_expected_layout() -> None:
    assert fmt(MESSY) == EXPECTED
    assert fmt(EXPECTED) == EXPECTED
    same_program(MESSY, EXPECTED)


def test_comments_and_strings_are_kept_verbatim() -> None:
    kinds = ("COMMENT", "STRING", "LONG")
    before = [t.text for t in tokens(MESSY) if t.kind in kinds]
    after = [t.text for t in tokens(fmt(MESSY)) if t.kind in kinds]
    assert before == after
    assert [t.text for t in tokens(MESSY)] == [t.text for t in tokens(fmt(MESSY))]


def test_spread_groups_stay_spread_and_trailing_commas_stay() -> None:
    text = 'llm f(q: str) -> str {\n  system: [\n    a,  # first\n    b,\n  ]\n  user: "{q}",\n}\n'
    assert fmt(text) == text


def test_records_and_kwargs() -> None:
    text = "node r = make( { name : \"x\", n : 1 } , size:2 )\ninput x: {a: str,b: list[int]}\n"
    assert fmt(text) == 'node r = make({name: "x", n: 1}, size: 2)\ninput x: {a: str, b: list[int]}\n'


def test_empty_and_comment_only_files() -> None:
    assert fmt("") == ""
    assert fmt("\n\n# only a comment\n\n") == "# only a comment\n"


def test_syntax_errors_are_returned_not_formatted() -> None:
    out, diagnostics = format_source("node x = = 1\n", "bad.adf")
    assert out is None
    assert diagnostics and diagnostics[0].code.startswith("E00") and diagnostics[0].file == "bad.adf"


def corpus() -> list[str]:
    """Every documented example that parses, plus the messy program above."""
    found = [MESSY]
    for info in all_codes().values():
        example = info.example
        if example is not None and format_source(example)[0] is not None:
            found.append(example)
    return found


CORPUS = corpus()
SEPARATORS = [" ", "  ", "\n", "\n\n\n", " \t", "  # note\n", "\n# own line\n", "\n    "]


@st.composite
def respaced(draw: st.DrawFn) -> str:
    """A corpus program with random whitespace and comments between its tokens."""
    toks = tokens(draw(st.sampled_from(CORPUS)))
    out = []
    for index, tok in enumerate(toks):
        if index:
            previous = toks[index - 1]
            choices = list(SEPARATORS)
            if previous.kind == "COMMENT":
                choices = [s for s in choices if "\n" in s]
            elif "PUNCT" in (previous.kind, tok.kind) and not {previous.text, tok.text} & {".", ".."}:
                choices.append("")
            out.append(draw(st.sampled_from(choices)))
        out.append(tok.text)
    return "".join(out) + "\n"


@settings(max_examples=60, deadline=None)
@given(respaced())
def test_fmt_is_idempotent_and_keeps_the_plan(text: str) -> None:
    once = fmt(text)
    assert fmt(once) == once
    same_program(text, once)
    assert [t.text for t in tokens(text)] == [t.text for t in tokens(once)]


def test_corpus_is_large() -> None:
    assert len(CORPUS) > 30


def test_comment_between_header_and_block() -> None:
    text = 'llm ask(q: str) -> str  # note\n{ user: "{q}" }\n'
    assert fmt(text) == 'llm ask(q: str) -> str  # note\n{\n  user: "{q}"\n}\n'
    assert fmt(fmt(text)) == fmt(text)


def test_fmt_lays_out_the_body_of_an_until_loop_written_on_one_line() -> None:
    text = (
        'model m = "local" input question: str llm next(question: str, notes: str) -> str using m '
        '{ user: "{question} {notes}" } state notes: str = "" '
        "loop hop in 0..3 until found { node q = next(question, notes) notes = notes + q } output notes\n"
    )
    once = fmt(text)
    assert "loop hop in 0..3 until found {\n  node q = next(question, notes)\n  notes = notes + q\n}\n" in once
    assert fmt(once) == once
