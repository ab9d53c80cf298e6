"""Dead and unused code: work the program does or declares for nothing.

Takes a `GraphView`; gives diagnostics, in one linear pass each:

- W0504 a node whose value reaches no output and no loss (reported once per
  statement, naming the time steps when only some loop copies are dead;
  nested calls, `pred.0`, fold into their statement);
- W0510 a loop state that nothing reads but its own updates (its update
  nodes are then not reported again as W0504);
- neither for the nodes and states a workflow call (`node v = r(...)`) copies
  from a used file (that file's own check reports them), except W0504 once for
  a call none of whose nodes is used;
- W0505 an input no node, loss or output reads; W0506 a target likewise;
- W0507 a parameter no prompt uses; W0508 a model no llm and no training
  role uses; W0509 an `llm` or `fn` declared but never called.

(An llm argument its prompt never mentions is the compiler's W0201.)
"""

from __future__ import annotations

from adf.analysis.graphview import GraphView
from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.plan.schema import Node


def live_values(view: GraphView) -> set[str]:
    """Every value id from which an output or a loss (prediction or target) is reachable,
    or that decides whether such a node runs (a branch condition, an `until`)."""
    plan = view.plan
    live = {o.source for o in plan.outputs}
    for loss in plan.losses:
        live.add(loss.pred)
        live.add(loss.target)
    untils = {(loop.name, loop.until) for loop in plan.loops if loop.until is not None}
    for node in reversed(plan.nodes):
        if (node.loop, node.name) in untils:
            live.add(node.id)  # the loop's own stop condition, computed at every step
        if node.id in live:
            live.update(view.sources(node.id))
            live.update(guard.source for guard in node.when)  # what decides whether it runs
    return live


def check_dead_code(view: GraphView, file: str) -> list[Diagnostic]:
    unread = unread_states(view)
    shown = {name: chain for name, chain in unread.items() if view.nodes[name].call is None}
    diagnostics = _unread_state_diagnostics(view, shown, file)
    diagnostics += _dead_nodes(view, live_values(view), file, set(unread))
    diagnostics += _unused_declarations(view, file)
    return diagnostics


def _dead_nodes(view: GraphView, live: set[str], file: str, skip: set[str]) -> list[Diagnostic]:
    """W0504, one per source statement: nested calls (`pred.0`) fold into their owner.
    A workflow call's nodes are the used file's work, reported by that file's own check:
    only a call nothing reads at all is reported, once, by the call's name."""
    groups: dict[str, list[Node]] = {}
    copies: dict[str, set[tuple[int, ...]]] = {}
    used_calls = {n.call for n in view.plan.nodes if n.call is not None and n.id in live}
    for node in view.plan.nodes:
        root = root_name(node)
        copies.setdefault(root, set()).add(node.time)
        if node.id in live or root in skip:
            continue
        if node.call is not None and (node.call in used_calls or root != node.call):
            continue
        if node.kind == "const" and view.readers(node.id):
            continue  # a literal, loop variable or initial state feeding dead work
        groups.setdefault(root, []).append(node)
    diagnostics = []
    for root, dead in groups.items():
        owner = next((n for n in dead if n.name == root), dead[0])
        steps = sorted({n.time for n in dead if n.step is not None})
        where = ""
        if owner.step is not None and len(steps) < len(copies[root]):
            listed = ", ".join(".".join(str(t) for t in time) for time in steps)
            where = f" at time step{'s' if len(steps) > 1 else ''} {listed} of loop `{owner.loop}`"
        labels = []
        reader = next((r for r in view.readers(owner.id) if root_name(view.nodes[r]) != root), None)
        if reader is not None:
            other = view.nodes[reader]
            labels.append(Label(other.span, f"read only by `{root_name(other)}`, which is itself unused"))
        notes: tuple[str, ...] = ()
        calls = sum(1 for n in dead if n.kind == "llm")
        if calls:
            plural = "s" if calls > 1 else ""
            notes = (f"{calls} llm call{plural} made for every sample, for nothing",)
        diagnostics.append(
            Diagnostic(
                code="W0504",
                severity=Severity.WARNING,
                message=f"`{root}` is computed but never used{where}",
                file=file,
                primary=Label(owner.span, "reaches no output and no loss"),
                secondary=tuple(lb for lb in labels if lb.span != owner.span),
                notes=notes,
                help="remove it, or use its value in a loss or an `output`",
            )
        )
    return diagnostics


def root_name(node: Node) -> str:
    """The statement a node comes from: `pred` for the nested call `pred.0`, `notes`
    for the copies `notes#1` and `notes#1.item` of a `map`'s body; `v.draft` for
    `v.draft.0`, a node of the workflow call `node v = r(...)` (`Node.call`)."""
    prefix = ""
    name = node.name
    if node.call is not None and name.startswith(node.call + "."):
        prefix, name = node.call + ".", name[len(node.call) + 1:]
    return prefix + name.split(".", 1)[0].split("#", 1)[0]


def unread_states(view: GraphView) -> dict[str, list[Node]]:
    """States whose versions nothing reads except their own updates: name -> update nodes."""
    updates: dict[str, list[Node]] = {}
    for node in view.plan.nodes:
        if node.loop is not None:
            updates.setdefault(root_name(node), []).append(node)
    unread: dict[str, list[Node]] = {}
    for init in view.plan.nodes:
        if init.kind != "const" or init.loop is not None or init.id not in updates:
            continue
        chain = updates[init.id]
        own = {n.id for n in chain}
        versions = [init.id, *(n.id for n in chain if n.name == init.id)]
        if not any(
            view.loss_readers.get(v) or view.output_readers.get(v)
            or any(r not in own for r in view.readers(v))
            for v in versions
        ):
            unread[init.id] = chain
    return unread


def _unread_state_diagnostics(
    view: GraphView, unread: dict[str, list[Node]], file: str
) -> list[Diagnostic]:
    diagnostics = []
    for name, chain in unread.items():
        update = next((n for n in chain if n.name == name), chain[0])
        init = view.nodes[name]
        diagnostics.append(Diagnostic(
            code="W0510",
            severity=Severity.WARNING,
            message=f"state `{name}` is updated in loop `{update.loop}` but never read",
            file=file,
            primary=Label(update.span, "this update is never used"),
            secondary=(Label(init.span, "initial value"),),
            notes=("no step of the loop, no node after it, no loss and no output reads it",),
            help=f"read `{name}` in the loop or after it, or remove the state and its update",
        ))
    return diagnostics


def _unused_declarations(view: GraphView, file: str) -> list[Diagnostic]:
    plan = view.plan
    diagnostics = []
    for decl in plan.inputs:
        if not _is_read(view, decl.name):
            diagnostics.append(_unused("W0505", f"input `{decl.name}` is never read", decl.span, file,
                                       "remove it, or pass it to a node"))
    for decl in plan.targets:
        if not _is_read(view, decl.name):
            diagnostics.append(_unused("W0506", f"target `{decl.name}` is never read", decl.span, file,
                                       "remove it, or compare a prediction with it in a `loss`"))
    for param in plan.params:
        if not view.param_users.get(param.name):
            diagnostics.append(_unused("W0507", f"parameter `{param.name}` is used in no prompt",
                                       param.span, file,
                                       "add it to an llm's `system:` or `user:` parts, or remove it"))
    used_models = {n.llm.model for n in plan.nodes if n.llm is not None}
    if plan.training is not None:
        used_models.update((plan.training.backward_model, plan.training.optimizer_model))
        if plan.training.teacher_model is not None:
            used_models.add(plan.training.teacher_model)
    for model in plan.models:
        if model.name not in used_models:
            diagnostics.append(_unused("W0508", f"model `{model.name}` is never used", model.span, file,
                                       "remove it, or name it in an llm's `using` or in `train { }`"))
    for function in plan.functions:
        if not view.callers.get(function.name):
            diagnostics.append(_unused("W0509", f"{function.kind} `{function.name}` is never called",
                                       function.span, file, "call it from a `node`, or remove it"))
    return diagnostics


def _is_read(view: GraphView, value: str) -> bool:
    return bool(view.readers(value) or view.loss_readers.get(value) or view.output_readers.get(value))


def _unused(code: str, message: str, span: Span, file: str, help_text: str) -> Diagnostic:
    return Diagnostic(
        code=code,
        severity=Severity.WARNING,
        message=message,
        file=file,
        primary=Label(span, "declared here"),
        help=help_text,
    )
