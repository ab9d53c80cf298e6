"""Per-item work at run time: `item` and `map` nodes.

Takes a node and the traces of the nodes it reads; gives the node's trace.
`take_item` gives element `item` of the list, or status `untaken` when the
list is shorter (the item's body is guarded by it, so it does not run, makes
no call and costs nothing). `collect` gives the list of the items' results,
one per element of the list up to the bound; when the list is longer than
the bound, the elements past it are left out and the trace says how many
(its input `left_out`). Items run concurrently like any independent nodes,
under the model client's limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adf.plan.schema import Node
from adf.runtime.routing import value_of
from adf.runtime.trace import NodeTrace


def _list(node: Node, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> list[Any] | NodeTrace:
    """The list the node reads, or its trace when there is none (`untaken`, `skipped`)."""
    source = node.inputs[0].source
    ok, items, status = value_of(source, upstream, known)
    if status == "untaken":
        return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
    if not ok or not isinstance(items, list):
        return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                         error=f"not run: {source} did not produce a list")
    return items


def take_item(node: Node, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> NodeTrace:
    items = _list(node, upstream, known)
    if isinstance(items, NodeTrace):
        return items
    assert node.item is not None
    if node.item >= len(items):
        return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", (("index", node.item),),
                     value=items[node.item])


def collect(node: Node, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> NodeTrace:
    items = _list(node, upstream, known)
    if isinstance(items, NodeTrace):
        return items
    results = node.inputs[1:]
    count = min(len(items), len(results))
    values = []
    for binding in results[:count]:
        has, value, _ = value_of(binding.source, upstream, known)
        if not has:
            return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                             error=f"not run: {binding.source} did not produce a value")
        values.append(value)
    inputs: tuple[tuple[str, Any], ...] = (("items", count),)
    if len(items) > count:
        inputs += (("left_out", len(items) - count),)
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, value=values)
