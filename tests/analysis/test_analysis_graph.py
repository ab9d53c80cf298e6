"""Graph drawings: the SVG checked structurally (xml.etree), DOT and HTML by content."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from analysis_plans import PlanBuilder, counting

from adf.analysis.dot import render_dot
from adf.analysis.drawing import build_drawing
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
