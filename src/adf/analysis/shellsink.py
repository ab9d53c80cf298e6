"""Model output reaching a shell or `eval` (W0540).

Takes the plan's `GraphView` and the file name; gives a warning for each
`py` function (an `fn`, a loss's metric, or a tool an llm calls) that runs
shell commands or evaluates code and receives a value computed from an llm
node's reply, directly or through other nodes; a tool's arguments are the
model's own choice, so a tool always receives model output. Whether a binding runs commands is read
statically by `adf.compiler.pysink` (nothing is imported), and only for
plans that bind `py` functions, so other checks never load Python's `ast`.
"""

from __future__ import annotations

import os

from adf.analysis.graphview import GraphView
from adf.diagnostics import Diagnostic, Label, Severity, Span

_UNSEEN = (
    "adf reads the binding and the bound function's own body (calls made with a "
    "parameter, or with a local name assigned from one); it does not follow calls "
    "into further functions, values kept in containers or callables chosen at run time"
)


def check_shell_sinks(view: GraphView, file: str) -> list[Diagnostic]:
    plan = view.plan
    fed = _model_fed(view)
    # who receives -> (its `py` ref, the call site, its declaration, the llm node feeding it)
    uses: dict[str, tuple[str, Span, Span, str]] = {}
    spans = {f.name: f.span for f in plan.functions}
    for node in plan.nodes:
        if node.fn is None or not node.fn.ref.startswith("py:") or node.fn.function in uses:
            continue
        origin = next((fed[b.source] for b in node.inputs if b.source in fed), None)
        if origin is not None:
            decl = spans.get(node.fn.function, node.span)
            uses[node.fn.function] = (node.fn.ref, node.span, decl, origin)
    for node in plan.nodes:  # a tool's arguments are chosen by the model that calls it
        for tool in node.llm.tools if node.llm is not None else ():
            if tool.fn.ref.startswith("py:") and tool.fn.function not in uses:
                decl = spans.get(tool.fn.function, node.span)
                uses[tool.fn.function] = (tool.fn.ref, node.span, decl, node.id)
    for loss in plan.losses:
        if loss.metric.startswith("py:") and loss.pred in fed:
            uses.setdefault(f"loss {loss.name}", (loss.metric, loss.span, loss.span, fed[loss.pred]))
    if not uses:
        return []
    from adf.compiler.pybind import parse_py_ref  # only plans with fed `py` bindings pay
    from adf.compiler.pyresolve import Resolver
    from adf.compiler.pysink import find_sink

    resolver = Resolver(os.path.dirname(os.path.abspath(file)))
    out = []
    for who, (ref, site, decl, origin) in uses.items():
        parsed = parse_py_ref(ref.removeprefix("py:"))
        sink = find_sink(*parsed, resolver) if parsed is not None else None
        if sink is None:
            continue
        shown = ref.removeprefix("py:")
        if sink.via is None:
            alias = "" if sink.entry == shown else f" (that is `{sink.entry}`)"
            what = f"`{shown}`{alias}, which {sink.does}"
        else:
            what = f"`{shown}` passes its parameter `{sink.param}` to `{sink.entry}`, which {sink.does}"
        name = who if who.startswith("loss ") else f"fn `{who}`"
        llm = view.nodes[origin]
        shown_site = site not in (decl, llm.span)  # a tool's site is the llm that calls it
        secondary = [Label(site, "model output reaches it here")] if shown_site else []
        caller = llm.llm.function if llm.llm is not None else llm.name
        secondary.append(Label(llm.span, f"the reply of `{caller}`"))
        out.append(Diagnostic(
            code="W0540",
            severity=Severity.WARNING,
            message=f"model output reaches a shell or eval: {name} is bound to {what}",
            file=file,
            primary=Label(decl, "receives model output"),
            secondary=tuple(secondary),
            notes=(_UNSEEN,),
            help="check the reply against a fixed allow-list before it reaches the function, "
            "or bind a function that does not run commands or code; if this is intended, "
            "add `# adf: allow W0540` on this line",
        ))
    return out


def _model_fed(view: GraphView) -> dict[str, str]:
    """Each value computed from an llm node's reply -> the first such llm node."""
    fed: dict[str, str] = {}
    for node in view.plan.nodes:  # plan order is a topological order
        if node.llm is not None:
            fed.setdefault(node.id, node.id)
            continue
        origin = next((fed[b.source] for b in node.inputs if b.source in fed), None)
        if origin is not None:
            fed[node.id] = origin
    return fed
