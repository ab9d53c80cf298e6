"""Graphviz DOT text of the unrolled graph.

Takes a `Drawing`; gives DOT source: parameters as notes, data as
ellipses, llm nodes as boxes, functional nodes as rounded boxes, losses as
double octagons, outputs as plain text; each loop time step is a cluster
(`hop @ 0`), the steps of a loop nested in it clusters inside it
(`attempt @ 0.1`); the gradient-reachable subgraph is drawn bold and coloured.
With a traced sample, the path it took is drawn thick and green and what
it did not take (untaken branches, steps after an early exit) dashed and grey.
Deterministic: the same plan gives the same text.
"""

from __future__ import annotations

from adf.analysis.drawing import Drawing, Group, Vertex, group_label

HIGHLIGHT = "#d9480f"
TAKEN = "#2b8a3e"
UNTAKEN = 'style="dashed", color="#ced4da", fontcolor="#adb5bd"'

_SHAPES = {
    "param": 'shape=note, style=filled, fillcolor="#fff3bf"',
    "input": 'shape=ellipse, style=filled, fillcolor="#e7f5ff"',
    "target": 'shape=ellipse, style="filled,dashed", fillcolor="#e7f5ff"',
    "llm": 'shape=box, style=filled, fillcolor="#d0ebff"',
    "fn": 'shape=box, style="rounded,filled", fillcolor="#ebfbee"',
    "const": 'shape=box, style="rounded,dashed"',
    "field": 'shape=box, style="rounded,filled", fillcolor="#f3f0ff"',
    "select": 'shape=diamond, style=filled, fillcolor="#fff9db"',
    "last": 'shape=invhouse, style=filled, fillcolor="#fff9db"',
    "item": 'shape=box, style="rounded,filled", fillcolor="#e6fcf5"',
    "map": 'shape=trapezium, style=filled, fillcolor="#e6fcf5"',
    "loss": 'shape=doubleoctagon, style=filled, fillcolor="#ffe3e3"',
    "output": "shape=plaintext",
}
_EDGE_STYLES = {"param": "style=dashed", "value": "", "pred": "", "target": "style=dotted",
                "output": ""}


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(drawing: Drawing) -> str:
    lines = [f"digraph {quote(drawing.name or 'adf')} {{",
             "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [color="#868e96"];']
    by_group: dict[Group, list[Vertex]] = {}
    for vertex in drawing.vertices:
        if vertex.group is None:
            lines.append("  " + _vertex(vertex))
        else:
            by_group.setdefault(vertex.group, []).append(vertex)
    number = {group: index for index, group in enumerate(drawing.groups())}
    inside = drawing.children()

    def cluster(group: Group, pad: str) -> None:
        lines.append(f"{pad}subgraph {quote(f'cluster_{number[group]}')} {{")
        lines.append(f"{pad}  label={quote(group_label(group))}; style=rounded; color=\"#adb5bd\";")
        lines.extend(f"{pad}  " + _vertex(v) for v in by_group.get(group, ()))
        for child in inside.get(group, ()):
            cluster(child, pad + "  ")
        lines.append(pad + "}")

    for group in inside.get(None, ()):
        cluster(group, "  ")
    for edge in drawing.edges:
        attrs = [_EDGE_STYLES[edge.kind]] if _EDGE_STYLES[edge.kind] else []
        if edge.highlighted:
            attrs.append(f'color="{HIGHLIGHT}", penwidth=2')
        if edge.taken:
            attrs.append(f'color="{TAKEN}", penwidth=3')
        elif edge.taken is False:
            attrs.append(UNTAKEN)
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _vertex(vertex: Vertex) -> str:
    label = f"{vertex.label}\n{vertex.detail}"
    extra = f', color="{HIGHLIGHT}", penwidth=2' if vertex.highlighted else ""
    if vertex.taken:
        extra += f', color="{TAKEN}", penwidth=3'
    elif vertex.taken is False:
        extra += ", " + UNTAKEN
    return f"{quote(vertex.id)} [label={quote(label)}, {_SHAPES[vertex.kind]}{extra}];"
