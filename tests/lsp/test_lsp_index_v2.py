"""The symbol index knows a `map`'s item, its bound and the names in conditions."""

from __future__ import annotations

from adf.lsp.index import build_index
from adf.syntax.parser import parse

SOURCE = """model m = "local"
input passages: list[str]
input question: str
const most = 3
llm summarize(question: str, passage: str) -> str using m { user: "{question} {passage}" }
llm sure(question: str) -> bool using m { user: "{question}" }
node notes = map p in passages max most => summarize(question, p)
state tries: int = 0
loop t in 0..most until done or tries >= 2 {
  node done = sure(question)
  tries = tries + 1
}
output notes
"""


def test_map_items_bounds_and_condition_names_are_indexed() -> None:
    program, diagnostics = parse(SOURCE)
    assert program is not None and diagnostics == ()
    index = build_index(program)
    item = index.definitions[("", "p")]
    assert item.kind == "item" and (item.span.line, item.span.col) == (7, 18)
    uses = [o for o in index.references(("", "p")) if not o.is_definition]
    assert [(o.span.line, o.span.col) for o in uses] == [(7, 64)]
    assert [(o.span.line, o.span.col) for o in index.references(("", "most"))
            if not o.is_definition] == [(7, 36), (9, 14)]
    condition = [(o.span.line, o.span.col) for o in index.references(("", "tries"))
                 if not o.is_definition]
    assert (9, 33) in condition
    assert [(o.span.line, o.span.col) for o in index.references(("", "done"))
            if not o.is_definition] == [(9, 25)]
