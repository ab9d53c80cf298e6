"""Graph drawings: the SVG checked structurally (xml.etree), DOT and HTML by content."""

from __future__ import annotations

import itertools
import pathlib
import xml.etree.ElementTree as ET

from analysis_plans import PlanBuilder, counting

from adf.analysis.dot import render_dot
from adf.analysis.drawing import Drawing, build_drawing
from adf.analysis.html import render_html
from adf.analysis.svg import BOX_HEIGHT, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def looped() -> PlanBuilder:
    b = counting().param("query_prompt").loop("hop", 2, ("q",))
    prev = "question"
    for step in range(2):
        b.llm(f"q@{step}", "next_query", {"question": prev}, params=("query_prompt",), loop="hop", step=step)
        prev = f"q@{step}"
    b.llm("final", "finish", {"q": prev}, params=("instruction",))
    b.output("final")
    return b


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def vertices(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-id", ""): g for g in root.iter(f"{SVG}g") if "vertex" in g.get("class", "").split()}


def test_svg_has_one_vertex_per_plan_item_and_highlights_gradient_path() -> None:
    plan = looped().build()
    root = parse(render_svg(build_drawing(plan)))
    found = vertices(root)
    expected = {"param:instruction", "param:answer_format", "param:query_prompt", "question", "answer",
                "reply", "pred", "q@0", "q@1", "final", "loss:acc", "output:pred", "output:final"}
    assert set(found) == expected
    highlighted = {vid for vid, g in found.items() if "grad" in g.get("class", "").split()}
    assert highlighted == {"param:instruction", "reply", "pred", "loss:acc"}
    grad_edges = {(p.get("data-from"), p.get("data-to")) for p in root.iter(f"{SVG}path")
                  if "grad" in p.get("class", "").split()}
    assert grad_edges == {("param:instruction", "reply"), ("reply", "pred"), ("pred", "loss:acc")}
    assert "frozen" in found["param:answer_format"].get("class", "")


def test_svg_edges_point_downwards_and_boxes_do_not_overlap() -> None:
    root = parse(render_svg(build_drawing(looped().build())))
    boxes = {}
    for vid, g in vertices(root).items():
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        boxes[vid] = (float(rect.get("x", 0)), float(rect.get("y", 0)), float(rect.get("width", 0)))
    edges = [p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "").split()]
    assert len(edges) == 14
    for path in edges:
        assert boxes[path.get("data-from", "")][1] + BOX_HEIGHT <= boxes[path.get("data-to", "")][1]
    rows: dict[float, list[tuple[float, float]]] = {}
    for x, y, w in boxes.values():
        rows.setdefault(y, []).append((x, x + w))
    for spans in rows.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_svg_groups_loop_steps() -> None:
    root = parse(render_svg(build_drawing(looped().build())))
    groups = [(g.get("data-loop"), g.get("data-step")) for g in root.iter(f"{SVG}g")
              if g.get("class") == "group"]
    assert groups == [("hop", "0"), ("hop", "1")]


def test_labels_are_escaped() -> None:
    b = counting().model("odd<&>\"", "local")
    b.llm("x", "weird", {"question": "question"}, model='odd<&>"')
    b.output("x")
    svg = render_svg(build_drawing(b.build()))
    root = parse(svg)
    assert any('odd<&>"' in (t.text or "") for t in root.iter(f"{SVG}text"))
    dot = render_dot(build_drawing(b.build()))
    assert 'odd<&>\\"' in dot


def test_dot_clusters_and_highlight() -> None:
    dot = render_dot(build_drawing(looped().build()))
    assert dot.startswith('digraph "test.adf" {')
    assert dot.count("subgraph") == 2
    assert 'label="hop @ 0"' in dot and 'label="hop @ 1"' in dot
    assert '"param:instruction" -> "reply" [style=dashed, color="#d9480f", penwidth=2];' in dot
    assert '"param:query_prompt" -> "q@0" [style=dashed];' in dot
    assert dot.rstrip().endswith("}")


def test_html_is_self_contained() -> None:
    page = render_html(build_drawing(looped().build()))
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "</html>" in page
    assert "src=" not in page and "href=" not in page  # nothing fetched from elsewhere
    assert "4 llm calls, 1 function calls, 3 parameters (1 on a gradient path)" in page
    body = page[page.index("<svg"): page.index("</svg>") + len("</svg>")]
    assert len(vertices(ET.fromstring(body))) == 13


def test_drawing_is_deterministic() -> None:
    assert render_svg(build_drawing(looped().build())) == render_svg(build_drawing(looped().build()))


# --- nested loops: each step of an inner loop drawn inside the step of the loop around it ---

NESTED = """model m = "local"
param ask: prompt = "Ask."
input question: str
input passages: list[str]
target answer: str
llm step(a: str, b: str) -> str using m { system: [ask] user: "{a} {b}" }
state notes: str = ""
loop round in 0..2 {
  loop attempt in 0..2 {
    loop again in 0..2 {
      node sums = map p in passages max 2 => step(question, p)
      node q = step(question, notes)
    }
  }
  notes = notes + q
}
loss acc = std.loss.exact_match(notes, answer)
output notes
output sums
"""


def nested_drawing() -> Drawing:
    from adf.compiler.pipeline import compile_source

    plan = compile_source(NESTED, "nested.adf").plan
    assert plan is not None
    return build_drawing(plan)


def dot_clusters(dot: str) -> dict[str, str | None]:
    """Each cluster's label -> the label of the cluster it is written inside (None: at the top)."""
    around: dict[str, str | None] = {}
    stack: list[str] = []
    for line in dot.splitlines():
        text = line.strip()
        if text.startswith("subgraph "):
            stack.append("")
        elif text.startswith("label=") and stack and stack[-1] == "":
            stack[-1] = text.split('"')[1]
            around[stack[-1]] = stack[-2] if len(stack) > 1 else None
        elif text == "}" and stack:
            stack.pop()
    return around


def test_dot_draws_a_nested_loops_steps_inside_the_outer_step() -> None:
    around = dot_clusters(render_dot(nested_drawing()))
    assert around["round @ 1"] is None
    assert around["attempt @ 1.0"] == "round @ 1"
    assert around["again @ 1.0.1"] == "attempt @ 1.0"
    assert around["sums#1@1.0.1"] == "again @ 1.0.1"  # a map's item, in the step it runs in
    # round's steps hold no node of their own but the inner loop's: drawn all the same
    assert len(around) == 2 + 4 + 8 + 16
    flat = render_dot(build_drawing(looped().build()))
    assert dot_clusters(flat) == {"hop @ 0": None, "hop @ 1": None}


def test_svg_nests_the_group_of_an_inner_step_in_the_outer_steps_group_and_box() -> None:
    root = parse(render_svg(nested_drawing()))
    outer = next(g for g in root.iter(f"{SVG}g")
                 if g.get("class") == "group" and g.get("data-step") == "1")
    inner = [(g.get("data-loop"), g.get("data-step")) for g in outer.iter(f"{SVG}g")
             if g.get("class") == "group"]
    assert inner[:4] == [("round", "1"), ("attempt", "1.0"), ("again", "1.0.0"),
                         ("sums#", "0@1.0.0")]
    assert all(step.startswith("1") or loop == "sums#" for loop, step in inner)

    def box(g: ET.Element) -> tuple[float, float, float, float]:
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
        return x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0))

    tops = [g for g in root.findall(f"{SVG}g") if g.get("class") == "group"]
    for parent in [*tops, *(g for g in root.iter(f"{SVG}g") if g.get("class") == "group")]:
        children = [g for g in parent.findall(f"{SVG}g") if g.get("class") == "group"]
        for child in children:  # every inner box lies inside its outer box
            px0, py0, px1, py1 = box(parent)
            cx0, cy0, cx1, cy1 = box(child)
            assert px0 < cx0 and py0 < cy0 and cx1 < px1 and cy1 < py1
    for siblings in [tops, *([g for g in p.findall(f"{SVG}g") if g.get("class") == "group"
                              and g.get("data-loop") != "sums#"]
                             for p in root.iter(f"{SVG}g") if p.get("class") == "group")]:
        for before, after in itertools.pairwise(siblings):  # a loop's steps one under another
            assert before.get("data-loop") == after.get("data-loop")
            assert box(before)[3] < box(after)[1]
    page = render_html(nested_drawing())
    assert "14 loop time steps" in page  # 2 + 2 × 2 + 2 × 2 × 2; map items apart


CALLED = """model m = "local"
input text: str
input items: list[str]
llm f(text: str) -> str using m { user: "F {text}" }
state acc: str = ""
loop r in 0..2 {
  node s = map p in items max 2 => f(p)
  acc = acc + f(text)
}
output acc
"""


def test_a_workflow_calls_box_holds_its_loop_steps_and_map_items(tmp_path: pathlib.Path) -> None:
    from adf.compiler.pipeline import compile_file

    (tmp_path / "lib.adf").write_text(CALLED, encoding="utf-8")
    main = tmp_path / "main.adf"
    main.write_text('use "lib.adf" as lib\ninput text: str\ninput items: list[str]\n'
                    "node v = lib(text, items)\noutput v\n", encoding="utf-8")
    plan = compile_file(str(main)).plan
    assert plan is not None
    around = dot_clusters(render_dot(build_drawing(plan)))
    assert around == {"call v": None, "v.r @ 0": "call v", "v.r @ 1": "call v",
                      "v.s#0@0": "v.r @ 0", "v.s#1@0": "v.r @ 0",
                      "v.s#0@1": "v.r @ 1", "v.s#1@1": "v.r @ 1"}
    root = parse(render_svg(build_drawing(plan)))
    call = next(g for g in root.findall(f"{SVG}g") if g.get("class") == "group")
    inner = [(g.get("data-loop"), g.get("data-step")) for g in call.iter(f"{SVG}g")
             if g.get("class") == "group"]
    assert inner == [("v", "call"), ("v.r", "0"), ("v.s#", "0@0"), ("v.s#", "1@0"),
                     ("v.r", "1"), ("v.s#", "0@1"), ("v.s#", "1@1")]
