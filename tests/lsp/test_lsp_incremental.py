"""The editor's incremental parse gives exactly the program a whole-file parse gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adf.lsp.incremental import cut, parse_incrementally
from adf.syntax.parser import parse

from .lsp_client import EXAMPLES

TRICKY = '''model m = "local"
param p: prompt = """a prompt whose lines
node look like declarations
loop but are text"""
input q: str
llm ask(q: str) -> str { user: "{q}" }
loop step in 0..2 {
node a = ask(q)
}
# node in a comment
node b = ask(q)
output b
'''


def test_pieces_join_back_to_the_text() -> None:
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        pieces = cut(text)
        assert "".join(piece for _, piece in pieces) == text
        assert len(pieces) > 5
    assert [line for line, _ in cut(TRICKY)] == [1, 2, 5, 6, 7, 8, 11, 12]


def test_every_example_parses_to_the_same_program() -> None:
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        program, pieces = parse_incrementally(text, {})
        assert program == parse(text)[0], path.name
        assert pieces


def test_a_wrong_cut_falls_back_to_the_whole_parse() -> None:
    # `node a` in the first column inside the loop body is cut off from its loop
    program, pieces = parse_incrementally(TRICKY, {})
    assert program is None and pieces == {}
    assert parse(TRICKY)[0] is not None


def test_reused_and_moved_pieces_match_a_fresh_parse() -> None:
    text = next(p for p in EXAMPLES if p.name == "agent.adf").read_text(encoding="utf-8")
    _, pieces = parse_incrementally(text, {})
    edited = text.replace("node pred", "\n\n# two lines more above\nnode pred")
    moved = "\n\n" + edited
    for new in (edited, moved):
        program, pieces = parse_incrementally(new, pieces)
        assert program == parse(new)[0]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_line_edits_agree_with_the_whole_parse(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(EXAMPLES))
    text = path.read_text(encoding="utf-8")
    _, pieces = parse_incrementally(text, {})
    lines = text.split("\n")
    for _ in range(3):
        at = data.draw(st.integers(0, len(lines) - 1))
        choice = data.draw(st.sampled_from(["drop", "blank", "duplicate", "comment", "typo"]))
        if choice == "drop":
            del lines[at]
        elif choice == "blank":
            lines.insert(at, "")
        elif choice == "duplicate":
            lines.insert(at, lines[at])
        elif choice == "comment":
            lines[at] += "  # note"
        else:
            lines[at] = lines[at].replace("=", "", 1)
        new = "\n".join(lines)
        program, pieces = parse_incrementally(new, pieces)
        whole, diagnostics = parse(new)
        assert program == whole if program is not None else diagnostics or "\n}" in new
