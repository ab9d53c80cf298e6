"""The symbol index knows a `map`'s item, its bound and the names in conditions, and
the names of nested loops; the outline shows a nested loop inside its loop."""

from __future__ import annotations

from adf.lsp.index import build_index
from adf.lsp.outline import folds, outline
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


NESTED = """model m = "local"
input question: str
llm step(q: str, i: int, j: int) -> str using m { user: "{q} {i} {j}" }
loop round in 0..2 {
  node plan = step(question, round, 0)
  loop attempt in 0..3 {
    node draft = step(plan, round, attempt)
  }
}
output draft
"""


def test_nested_loops_are_indexed_outlined_and_folded() -> None:
    program, diagnostics = parse(NESTED)
    assert program is not None and diagnostics == ()
    index = build_index(program)
    assert index.definitions[("", "attempt")].kind == "loopvar"
    assert index.definitions[("", "draft")].kind == "node"
    uses = [(o.span.line, o.span.col) for o in index.references(("", "round"))
            if not o.is_definition]
    assert uses == [(5, 30), (7, 29)]  # the outer loop variable, read in the inner body too
    loop = next(o for o in outline(program) if o.name == "round")
    assert [(c.name, c.kind) for c in loop.children] == [("plan", "node"), ("attempt", "loopvar")]
    assert [c.name for c in loop.children[1].children] == ["draft"]
    assert {(f.start, f.end) for f in folds(program, NESTED)} >= {(4, 9), (6, 8)}
