"""Dead branches: `if`/`match` branches no sample can take (W0530).

Takes the plan's `GraphView` and the file name; gives a warning for each
branch of a `select` node whose condition is a constant (`if true then a
else b`, a `match` on a literal label): the branches the constant does not
choose never run, so their calls, prompts and parameters are dead weight.
"""

from __future__ import annotations

import json

from adf.analysis.graphview import GraphView
from adf.diagnostics import Diagnostic, Label, Severity
from adf.plan.routing import case_key, chosen


def check_dead_branches(view: GraphView, file: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for node in view.plan.nodes:
        if node.kind != "select":
            continue
        cond = view.nodes.get(node.inputs[0].source)
        if cond is None or cond.kind != "const" or cond.value_json is None:
            continue
        value = json.loads(cond.value_json)
        taken = chosen(node, value)
        for binding in node.inputs[1:]:
            if binding.source == taken:
                continue
            arm = view.nodes.get(binding.source)
            span = arm.span if arm is not None else node.span
            label = binding.name.removeprefix("case:")
            out.append(Diagnostic(
                code="W0530",
                severity=Severity.WARNING,
                message=f"the branch `{label}` can never run: the condition is always `{case_key(value)}`",
                file=file,
                primary=Label(span, "never runs"),
                secondary=(Label(cond.span, "a constant condition"),),
                help="drop the `if`/`match` and keep the branch that runs, or compute the condition",
            ))
    return out
