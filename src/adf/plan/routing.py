"""What a plan's branches mean: which branch a condition's value takes.

Takes a `select` node (or a guard) and a condition's value; gives the key
that names the branch (`true`/`false` or the enum label) and the source the
`select` node passes on. The runtime, the backward pass and the lints all
read branches through these two functions.
"""

from __future__ import annotations

from typing import Any

from adf.plan.schema import Guard, Node

WILDCARD = "case:_"


def case_key(value: Any) -> str:
    """How a condition's value names its branch: `true`/`false` or the enum label."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def chosen(node: Node, cond: Any) -> str:
    """The id of the source whose value the `select` node passes on for this condition."""
    bindings = {b.name: b.source for b in node.inputs}
    return bindings.get(f"case:{case_key(cond)}", bindings.get(WILDCARD, ""))


def guard_text(guard: Guard) -> str:
    """How `inspect` and `graph` show a guard: ` when k in {NUM}`, ` when p#0.item ran`."""
    if not guard.cases:
        return f" when {guard.source} ran"
    return f" when {guard.source} in {{{', '.join(guard.cases)}}}"
