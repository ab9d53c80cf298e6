"""A self-contained SVG picture of the unrolled graph (no Graphviz needed).

Takes a `Drawing`; gives SVG text. Layout is the simple layered kind: one
row per topological layer, top to bottom; within a row, vertices are
ordered by the mean position of their already placed predecessors (one
downward sweep, which removes most crossings in the chains an unrolled
workflow makes) and rows are centred. Each loop time step gets a labelled
box behind its vertices, a `<g class="group">`; the steps of a loop nested
in it are groups inside that group, their boxes inside its box (rows are
spaced to leave room for the boxes of the deepest nesting). The gradient-reachable subgraph carries the CSS
class `grad`; every vertex is a `<g class="vertex KIND">` with a
`data-id` (the plan id) and a `<title>` tooltip, every edge a
`<path class="edge KIND">` with `data-from` and `data-to`.
O(V log V + E).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import attrs

from adf.analysis.drawing import Drawing, Group, Vertex, group_label

BOX_HEIGHT = 40
ROW_GAP = 56
GROUP_TOP = 20  # a group's box: this much above its top row (its label goes there)
GROUP_SIDE = 10  # and this much beside and below its vertices and inner boxes
COLUMN_GAP = 22
MARGIN = 30
CHAR_WIDTH = 7
DETAIL_CHARS = 42

STYLE = """
.vertex rect { stroke: #868e96; stroke-width: 1; }
.vertex text { font: 12px sans-serif; fill: #212529; }
.vertex text.detail { font-size: 10px; fill: #495057; }
.vertex.param rect { fill: #fff3bf; }
.vertex.param.frozen rect { fill: #f1f3f5; stroke-dasharray: 4 2; }
.vertex.input rect, .vertex.target rect { fill: #e7f5ff; rx: 18; }
.vertex.target rect { stroke-dasharray: 4 2; }
.vertex.llm rect { fill: #d0ebff; }
.vertex.fn rect { fill: #ebfbee; rx: 10; }
.vertex.const rect { fill: #ffffff; rx: 10; stroke-dasharray: 2 2; }
.vertex.field rect { fill: #f3f0ff; rx: 10; }
.vertex.select rect, .vertex.last rect { fill: #fff9db; rx: 4; stroke-dasharray: 6 2; }
.vertex.item rect, .vertex.map rect { fill: #e6fcf5; rx: 10; }
.vertex.loss rect { fill: #ffe3e3; }
.vertex.output rect { fill: #f8f9fa; }
.vertex.grad rect { stroke: #d9480f; stroke-width: 2.5; }
.edge { fill: none; stroke: #adb5bd; stroke-width: 1.2; }
.edge.param { stroke-dasharray: 5 3; }
.edge.target { stroke-dasharray: 2 3; }
.edge.grad { stroke: #d9480f; stroke-width: 2; }
.edge.taken { stroke: #2b8a3e; stroke-width: 3; }
.edge.untaken { stroke: #dee2e6; stroke-dasharray: 4 3; }
.vertex.taken rect { stroke: #2b8a3e; stroke-width: 3; }
.vertex.untaken { opacity: 0.45; }
.vertex.untaken rect { stroke-dasharray: 4 3; }
.group rect { fill: #f8f9fa; stroke: #ced4da; stroke-dasharray: 6 3; rx: 8; }
.group text { font: italic 11px sans-serif; fill: #868e96; }
"""


@attrs.frozen
class Box:
    x: float
    y: float
    width: float


def layout(drawing: Drawing) -> dict[str, Box]:
    # the boxes of nested groups pad each other: leave room for them above the first row
    # and between rows (one loop step ends a row above the next one begins)
    nesting = _nesting_depth(drawing)
    top = MARGIN + max(16, GROUP_TOP * nesting - 4)
    gap = max(ROW_GAP, (GROUP_TOP + GROUP_SIDE) * nesting + 8)
    rows: dict[int, list[Vertex]] = {}
    for vertex in drawing.vertices:
        rows.setdefault(vertex.layer, []).append(vertex)
    incoming: dict[str, list[str]] = {}
    for edge in drawing.edges:
        incoming.setdefault(edge.target, []).append(edge.source)
    order = {v.id: i for i, v in enumerate(drawing.vertices)}
    centre: dict[str, float] = {}
    placed: list[tuple[float, list[tuple[Vertex, float]]]] = []
    widest = 0.0
    for row_index, layer in enumerate(sorted(rows)):
        def key(vertex: Vertex) -> tuple[float, int]:
            known = [centre[s] for s in incoming.get(vertex.id, ()) if s in centre]
            return (sum(known) / len(known) if known else float("inf"), order[vertex.id])

        members = sorted(rows[layer], key=key)
        row_width = sum(_width(v) for v in members) + COLUMN_GAP * (len(members) - 1)
        cursor = -row_width / 2  # rows are centred on x = 0 until the final shift
        row: list[tuple[Vertex, float]] = []
        for vertex in members:
            width = _width(vertex)
            row.append((vertex, cursor))
            centre[vertex.id] = cursor + width / 2
            cursor += width + COLUMN_GAP
        widest = max(widest, row_width)
        placed.append((top + row_index * (BOX_HEIGHT + gap), row))
    boxes: dict[str, Box] = {}
    for y, row in placed:
        for vertex, x in row:
            boxes[vertex.id] = Box(MARGIN + widest / 2 + x, y, _width(vertex))
    return boxes


def _nesting_depth(drawing: Drawing) -> int:
    """How many group boxes lie one in another at the most (0 without groups)."""
    around = dict(drawing.nesting)
    deepest = 0
    for group in drawing.groups():
        depth, outer = 1, around.get(group)
        while outer is not None:
            depth, outer = depth + 1, around.get(outer)
        deepest = max(deepest, depth)
    return deepest


def _width(vertex: Vertex) -> float:
    chars = max(len(vertex.label), min(len(vertex.detail), DETAIL_CHARS) * 10 / 12)
    return max(70.0, chars * CHAR_WIDTH + 20)


def render_svg(drawing: Drawing) -> str:
    boxes = layout(drawing)
    width = max((b.x + b.width for b in boxes.values()), default=0) + MARGIN
    height = max((b.y + BOX_HEIGHT for b in boxes.values()), default=0) + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" class="adf-graph">',
        f"<title>{escape(drawing.name)}</title>",
        f"<style>{STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#868e96"/></marker></defs>',
    ]
    out += _groups(drawing, boxes)
    for edge in drawing.edges:
        a, b = boxes[edge.source], boxes[edge.target]
        x1, y1 = a.x + a.width / 2, a.y + BOX_HEIGHT
        x2, y2 = b.x + b.width / 2, b.y
        bend = max(20.0, (y2 - y1) / 2)
        classes = f"edge {edge.kind}" + (" grad" if edge.highlighted else "") + _taken(edge.taken)
        out.append(
            f'<path class="{classes}" data-from={quoteattr(edge.source)} data-to={quoteattr(edge.target)} '
            f'd="M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f}, {x2:.1f} {y2 - bend:.1f}, '
            f'{x2:.1f} {y2:.1f}" marker-end="url(#arrow)"/>'
        )
    for index, vertex in enumerate(drawing.vertices):
        box = boxes[vertex.id]
        classes = f"vertex {vertex.kind}" + (" grad" if vertex.highlighted else "")
        classes += (" frozen" if vertex.frozen else "") + _taken(vertex.taken)
        detail = vertex.detail if len(vertex.detail) <= DETAIL_CHARS else vertex.detail[: DETAIL_CHARS - 1] + "…"
        cx = box.x + box.width / 2
        out.append(
            f'<g class="{classes}" id="v{index}" data-id={quoteattr(vertex.id)}>'
            f"<title>{escape(vertex.id + ': ' + vertex.detail)}</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{BOX_HEIGHT}" rx="3"/>'
            f'<text x="{cx:.1f}" y="{box.y + 16:.1f}" text-anchor="middle">{escape(vertex.label)}</text>'
            f'<text class="detail" x="{cx:.1f}" y="{box.y + 31:.1f}" text-anchor="middle">'
            f"{escape(detail)}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _taken(taken: bool | None) -> str:
    return "" if taken is None else (" taken" if taken else " untaken")


def _groups(drawing: Drawing, boxes: dict[str, Box]) -> list[str]:
    """One `<g class="group">` per loop step or map item, a nested loop's steps inside the
    group of the outer step (drawn after, so on top of it), each box around its vertices
    and the boxes of the groups inside it."""
    extents: dict[Group, list[float]] = {}
    for vertex in drawing.vertices:
        if vertex.group is None:
            continue
        box = boxes[vertex.id]
        ext = extents.setdefault(vertex.group, [box.x, box.y, box.x + box.width, box.y + BOX_HEIGHT])
        ext[0], ext[1] = min(ext[0], box.x), min(ext[1], box.y)
        ext[2], ext[3] = max(ext[2], box.x + box.width), max(ext[3], box.y + BOX_HEIGHT)
    inside = drawing.children()
    rects: dict[Group, tuple[float, float, float, float]] = {}

    def rect(group: Group) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 of the group's box: its vertices and its inner boxes, padded."""
        found = [tuple(extents[group])] if group in extents else []
        found += [rect(child) for child in inside.get(group, ())]
        x0, y0 = min(e[0] for e in found), min(e[1] for e in found)
        x1, y1 = max(e[2] for e in found), max(e[3] for e in found)
        rects[group] = (x0 - GROUP_SIDE, y0 - GROUP_TOP, x1 + GROUP_SIDE, y1 + GROUP_SIDE)
        return rects[group]

    def draw(group: Group) -> list[str]:
        loop, step = group
        x0, y0, x1, y1 = rects[group]
        head = (f'<g class="group" data-loop={quoteattr(loop)} data-step="{step}">'
                f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}"/>'
                f'<text x="{x0 + 6:.1f}" y="{y0 + 13:.1f}">{escape(group_label(group))}</text>')
        nested = [line for child in inside.get(group, ()) for line in draw(child)]
        return [head, *nested, "</g>"] if nested else [head + "</g>"]

    out = []
    for group in inside.get(None, ()):
        rect(group)
        out += draw(group)
    return out
