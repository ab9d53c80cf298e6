"""The unrolled graph as something to draw: vertices, edges, layers, highlights.

Takes a `Plan`; gives a `Drawing` that both renderers (`adf.analysis.dot`
and `adf.analysis.svg`) read: one vertex per parameter, input, target,
node, loss and output; one edge per value flowing (parameter -> llm node,
value -> node, prediction and target -> loss, value -> output); each node's
loop time step for grouping (a nested loop's steps, and a map's items in a
loop, grouped inside the step of the loop around them); and the gradient-reachable subgraph (learning
parameters, the nodes between them and the losses, the edges feedback
travels along) marked `highlighted`. Given the path one sample took
(`adf.analysis.takenpath`), every vertex and edge also says whether it was
`taken` for that sample. The nodes of a workflow call (`node v = r(...)`)
are grouped as that call, the boxes of its loop steps and map items inside.

Layers are topological depths (longest path from the data), so every edge
points to a deeper layer, except that a loop's step starts below the step
of that loop before it (and the steps nested in that one), so the boxes of
a loop's steps lie one under another; a parameter, input, constant or target sits one
layer above its first reader (targets, read only by losses, just above the
losses). Computed in one pass over the plan.
"""

from __future__ import annotations

import itertools
from typing import Literal

import attrs

from adf.analysis.graphview import GraphView, build_view, vertex_id
from adf.analysis.reachability import compute_reachability
from adf.analysis.takenpath import TakenPath
from adf.plan.routing import guard_text
from adf.plan.schema import Node, Plan

VertexKind = Literal["param", "input", "target", "llm", "fn", "const", "field", "select", "last", "item", "map", "loss", "output"]
EdgeKind = Literal["param", "value", "pred", "target", "output"]
# (loop, time step) of a loop copy; ("NAME#", item) of a map's item; (call, CALL) of a
# workflow call's nodes (the box around its loop steps and map items)
Group = tuple[str, int | str]


@attrs.frozen
class Vertex:
    id: str
    kind: VertexKind
    label: str
    detail: str
    layer: int
    group: Group | None
    highlighted: bool
    frozen: bool = False
    taken: bool | None = None  # with a trace: ran for the traced sample; None: not known


@attrs.frozen
class Edge:
    source: str
    target: str
    kind: EdgeKind
    highlighted: bool
    taken: bool | None = None  # with a trace: the value flowed along it for the traced sample


@attrs.frozen
class Drawing:
    name: str
    vertices: tuple[Vertex, ...]
    edges: tuple[Edge, ...]
    # (group, the group drawn around it): a nested loop's step inside the outer loop's
    # step, a map's item inside the loop step it runs in
    nesting: tuple[tuple[Group, Group], ...] = ()

    def groups(self) -> list[Group]:
        """Loop time steps (and map items) in order of first appearance, each after the
        groups around it."""
        around = dict(self.nesting)
        seen: dict[Group, None] = {}
        for vertex in self.vertices:
            group = vertex.group
            chain: list[Group] = []
            while group is not None and group not in seen:
                chain.append(group)
                group = around.get(group)
            seen.update(dict.fromkeys(reversed(chain)))
        return list(seen)

    def children(self) -> dict[Group | None, list[Group]]:
        """The groups drawn directly inside each group (None: at the top), in `groups` order."""
        around = dict(self.nesting)
        inside: dict[Group | None, list[Group]] = {}
        for group in self.groups():
            inside.setdefault(around.get(group), []).append(group)
        return inside


CALL = "call"  # the second half of the group of a workflow call's nodes


def group_label(group: Group) -> str:
    """`hop @ 1` for a loop step (`attempt @ 1.0` in a nested loop), `notes#1` for a
    map's item (`notes#1@0` in a loop's step), `call verdict` for the nodes of
    `node verdict = r(...)`."""
    name, index = group
    if index == CALL:
        return f"call {name}"
    return f"{name}{index}" if name.endswith("#") else f"{name} @ {index}"


def build_drawing(plan: Plan, path: TakenPath | None = None) -> Drawing:
    """The drawing; with `path` (a traced sample), each node and edge says whether it was taken."""
    drawing = _draw(plan)
    return drawing if path is None else _mark(drawing, path)


def _mark(drawing: Drawing, path: TakenPath) -> Drawing:
    ran = dict(path.ran)
    vertices = []
    for vertex in drawing.vertices:
        taken = ran.get(vertex.id) if vertex.kind not in ("param", "input", "target") else None
        vertices.append(attrs.evolve(vertex, taken=taken))
    known = {v.id: v.taken for v in vertices}
    for vertex in drawing.vertices:  # data and parameters count as taken when a taken node reads them
        if vertex.kind in ("param", "input", "target", "loss", "output"):
            readers = [known.get(e.target) for e in drawing.edges if e.source == vertex.id]
            sources = [known.get(e.source) for e in drawing.edges if e.target == vertex.id]
            if vertex.kind in ("loss", "output"):
                known[vertex.id] = all(sources) if sources and None not in sources else None
            elif any(readers):
                known[vertex.id] = True
    vertices = [attrs.evolve(v, taken=known.get(v.id)) for v in vertices]
    edges = []
    for edge in drawing.edges:
        a, b = known.get(edge.source), known.get(edge.target)
        taken = None if a is None or b is None else (a and b)
        edges.append(attrs.evolve(edge, taken=taken))
    return Drawing(f"{drawing.name} (sample {path.sample})", tuple(vertices), tuple(edges),
                   drawing.nesting)


def _draw(plan: Plan) -> Drawing:
    view = build_view(plan)
    reach = compute_reachability(view)
    parents = {loop.name: loop.parent for loop in plan.loops}
    chains = {node.id: _chain(node, parents) for node in plan.nodes}
    nesting: dict[Group, Group] = {}
    for chain in chains.values():
        for inner, outer in itertools.pairwise(reversed(chain)):
            nesting.setdefault(inner, outer)
    depth = _layers(plan, view, chains)
    bottom = max(depth.values(), default=0) + 1

    def above(readers: tuple[str, ...], fallback: int = 1) -> int:
        return max(0, min((depth[r] for r in readers), default=fallback) - 1)

    for node in plan.nodes:  # constants sit just above their first reader, like data
        if not node.inputs and view.readers(node.id):
            depth[node.id] = max(depth[node.id], above(view.readers(node.id)))

    vertices: list[Vertex] = []
    edges: list[Edge] = []
    for param in plan.params:
        users = view.param_users.get(param.name, ())
        kind = "demos" if param.kind == "demos" else "prompt"
        state = "frozen" if param.frozen else "trainable"
        vertices.append(Vertex(vertex_id("param", param.name), "param", param.name,
                               f"{state} {kind}", above(users), None,
                               param.name in reach.learning, param.frozen))
        for user in users:
            edges.append(Edge(vertex_id("param", param.name), user, "param",
                              param.name in reach.learning and user in reach.gradient_nodes))
    for decl, data_kind in [(d, "input") for d in plan.inputs] + [(d, "target") for d in plan.targets]:
        readers = view.readers(decl.name)
        vertices.append(Vertex(decl.name, "input" if data_kind == "input" else "target",
                               decl.name, f"{data_kind}: {decl.type}", above(readers, bottom), None, False))
    for node in plan.nodes:
        chain = chains[node.id]
        group = chain[-1] if chain else None
        if node.llm is not None:
            detail = f"llm {node.llm.function} using {node.llm.model}"
            if node.llm.tools:  # `*`: a finish tool
                detail += " tools [" + ", ".join(
                    t.name + ("*" if t.finish else "") for t in node.llm.tools) + "]"
        elif node.fn is not None:
            detail = f"fn {node.fn.function} = {node.fn.ref}"
        elif node.kind == "field":
            detail = f"field .{node.field}"
        elif node.kind == "select":
            detail = f"select on {node.inputs[0].source}"
        elif node.kind == "last":
            detail = "the step the loop stopped at"
        elif node.kind == "item":
            detail = f"item {node.item} of {node.inputs[0].source}"
        elif node.kind == "map":
            detail = f"map over {node.inputs[0].source}, {len(node.inputs) - 1} items at most"
        else:
            detail = f"const {node.value_json}"
        detail += "".join(guard_text(g) for g in node.when)
        vertices.append(Vertex(node.id, node.kind, node.id, f"{detail} -> {node.output_type}",
                               depth[node.id], group, node.id in reach.gradient_nodes))
        for source in view.sources(node.id):
            edges.append(Edge(source, node.id, "value",
                              source in reach.gradient_nodes and node.id in reach.gradient_nodes))
    for loss in plan.losses:
        reached = loss.name in reach.reached_losses
        loss_id = vertex_id("loss", loss.name)
        vertices.append(Vertex(loss_id, "loss", loss.name, f"loss {loss.metric}", bottom, None, reached))
        edges.append(Edge(loss.pred, loss_id, "pred", reached))
        if loss.target != loss.pred:
            edges.append(Edge(loss.target, loss_id, "target", False))
    for output in plan.outputs:
        output_id = vertex_id("output", output.name)
        vertices.append(Vertex(output_id, "output", output.name, "output", bottom, None, False))
        edges.append(Edge(output.source, output_id, "output", False))
    return Drawing(plan.source_name, tuple(vertices), tuple(edges), tuple(nesting.items()))


def _chain(node: Node, parents: dict[str, str | None]) -> list[Group]:
    """The boxes a node is drawn in, outermost first: the workflow call it belongs to,
    the step of each loop around it (`hop @ 1`, then `attempt @ 1.0` for a loop nested
    in `hop`), then its map item."""
    chain: list[Group] = []
    if node.loop is not None and node.step is not None:
        time = node.time
        loops = [node.loop]
        while len(loops) < len(time) and (around := parents.get(loops[0])) is not None:
            loops.insert(0, around)
        chain = [(loop, ".".join(str(t) for t in time[: len(time) - len(loops) + i + 1]))
                 for i, loop in enumerate(loops)]
    if node.item is not None:  # a map's item: a box of its own, in the loop step it runs in
        stem = node.name.rsplit("#", 1)[0] + "#"
        chain.append((stem, node.item) if not chain else (stem, f"{node.item}@{chain[-1][1]}"))
    return [(node.call, CALL), *chain] if node.call is not None else chain


def _layers(plan: Plan, view: GraphView, chains: dict[str, list[Group]]) -> dict[str, int]:
    """Each node's layer: its topological depth, but a loop's step starts below the step
    of the same loop before it (the steps nested in that one included), so the boxes of
    a loop's steps lie one under another instead of across each other. Map items run
    side by side and get no such floor."""
    depth: dict[str, int] = {}
    floor: dict[Group, int] = {}
    deepest: dict[Group, int] = {}  # the deepest layer in each box, inner boxes included
    last_step: dict[tuple[Group | None, str], Group] = {}  # (box around, loop) -> its last step
    for node in plan.nodes:
        chain = chains[node.id]
        around: Group | None = None
        for group in chain:
            if group not in floor:
                loop = group[0]
                before = None if loop.endswith("#") else last_step.get((around, loop))
                floor[group] = deepest[before] + 1 if before is not None else 0
                if not loop.endswith("#"):
                    last_step[(around, loop)] = group
            around = group
        layer = 1 + max((depth.get(s, 0) for s in view.sources(node.id)), default=0)
        depth[node.id] = max(layer, *(floor[g] for g in chain)) if chain else layer
        for group in chain:
            deepest[group] = max(deepest.get(group, 0), depth[node.id])
    return depth
