"""Routing at run time: guarded nodes and `select` nodes.

Takes a node and the traces of the nodes it reads; gives the node's trace
when routing decides it: `not_taken` says whether a guarded node (written
inside a branch) is left out, `select` passes on the value of the branch
the condition took, `last_run` the value of the step an `until` loop
stopped at. A guard without cases (a `map` item's) only asks that its
source ran. A node that is not taken has status `untaken`: it never
ran, made no model call and costs nothing, and the backward pass does not
visit it. A condition that failed makes its branches `skipped` like any
other node after a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adf.plan.routing import case_key, chosen
from adf.plan.schema import Node
from adf.runtime.trace import NodeTrace


def value_of(source: str, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> tuple[bool, Any, str]:
    """(has a value, the value, the status of its node or "ok" for sample data)."""
    if source in upstream:
        trace = upstream[source]
        return trace.status == "ok", trace.value, trace.status
    return source in known, known.get(source), "ok"


def not_taken(node: Node, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> NodeTrace | None:
    """The trace of a guarded node whose branch is not taken (or cannot be decided); None to run it."""
    for guard in node.when:
        ok, value, status = value_of(guard.source, upstream, known)
        if status == "untaken":
            return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
        if not ok:
            return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                             error=f"not run: {guard.source} did not produce a value")
        if guard.cases and case_key(value) not in guard.cases:
            return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
    return None


def select(node: Node, upstream: Mapping[str, NodeTrace], known: Mapping[str, Any]) -> NodeTrace:
    cond_source = node.inputs[0].source
    ok, cond, status = value_of(cond_source, upstream, known)
    if status == "untaken":
        return NodeTrace(node.id, node.name, node.kind, node.step, "untaken")
    if not ok:
        return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                         error=f"not run: {cond_source} did not produce a value")
    source = chosen(node, cond)
    inputs = (("cond", cond),)
    has, value, status = value_of(source, upstream, known)
    if not has:
        return NodeTrace(node.id, node.name, node.kind, node.step, "skipped", inputs,
                         error=f"not run: {source or 'no branch'} did not produce a value")
    return NodeTrace(node.id, node.name, node.kind, node.step, "ok", inputs, value=value)


def last_run(node: Node, upstream: Mapping[str, NodeTrace]) -> NodeTrace:
    """The value of the last step that ran (its binding is the trace's one input)."""
    for binding in reversed([b for b in node.inputs if b.name.startswith("step")]):
        trace = upstream.get(binding.source)
        if trace is not None and trace.status == "ok":
            return NodeTrace(node.id, node.name, node.kind, node.step, "ok",
                             ((binding.name, trace.value),), value=trace.value)
        if trace is not None and trace.status != "untaken":
            break  # the step failed: so does the value after the loop
    return NodeTrace(node.id, node.name, node.kind, node.step, "skipped",
                     error="not run: the loop produced no value")
