"""Gradient reachability: which parameters can learn, which losses can teach.

Takes a `GraphView`; gives a `Reachability` (computed with one backward and
one forward sweep over the nodes, so linear in the size of the unrolled
graph) and the diagnostics built from it:

- W0501 a trainable parameter has no path to any loss: it will never get
  feedback, so training can never change it;
- W0502 a loss that no trainable parameter reaches: its score can never
  improve by training;
- W0503 a trainable parameter reaches losses only through their *target*
  argument: feedback starts at the prediction, so it never gets any.

Feedback flows backwards from a loss's prediction through every node's
inputs (an llm node also passes it to the parameters in its prompt; a
functional node copies it to its inputs). Each diagnostic explains itself
with secondary labels along one path of the graph.
"""

from __future__ import annotations

from collections.abc import Callable

from adf.analysis.deadcode import root_name
from adf.analysis.graphview import GraphView
from adf.analysis.records import Reachability as Reachability
from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.plan.schema import Loss, ParamDecl

MAX_PATH_LABELS = 6


def compute_reachability(view: GraphView) -> Reachability:
    plan = view.plan
    feeds_loss = _upstream(view, {loss.pred for loss in plan.losses})
    feeds_target = _upstream(view, {loss.target for loss in plan.losses})
    trained: set[str] = set()
    for node in plan.nodes:
        if view.trainable_params(node.id) or any(s in trained for s in view.sources(node.id)):
            trained.add(node.id)
    learning = {
        param.name
        for param in plan.params
        if not param.frozen and any(u in feeds_loss for u in view.param_users.get(param.name, ()))
    }
    return Reachability(
        feeds_loss=frozenset(feeds_loss),
        trained=frozenset(trained),
        learning=frozenset(learning),
        target_only=frozenset(feeds_target - feeds_loss),
        gradient_nodes=frozenset(n for n in feeds_loss if n in trained),
        reached_losses=frozenset(loss.name for loss in plan.losses if loss.pred in trained),
    )


def _upstream(view: GraphView, seeds: set[str]) -> set[str]:
    """Every value id from which some seed can be reached (seeds included)."""
    found = set(seeds)
    for node in reversed(view.plan.nodes):
        if node.id in found:
            found.update(view.sources(node.id))
    return found


def check_reachability(view: GraphView, reach: Reachability, file: str) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    for param in view.plan.params:
        users = view.param_users.get(param.name, ())
        if param.frozen or not users or param.name in reach.learning:
            continue  # frozen params never learn by design; unused ones are W0507
        if any(u in reach.target_only for u in users):
            diagnostics.append(_target_only(view, reach, param, file))
        else:
            diagnostics.append(_no_path(view, param, file))
    trainable = [p.name for p in view.plan.params if not p.frozen]
    for loss in view.plan.losses:
        if loss.name not in reach.reached_losses:
            diagnostics.append(_unreached_loss(view, reach, loss, trainable, file))
    return diagnostics


def _no_path(view: GraphView, param: ParamDecl, file: str) -> Diagnostic:
    users = view.param_users[param.name]
    chain = _forward_chain(view, users[0], lambda _: True)
    end = chain[-1]
    labels = _use_labels(view, users) + _chain_labels(view, chain[1:-1])
    outputs = view.output_readers.get(end, ())
    if view.readers(end):  # the path was cut short: it goes on, but never into a loss
        labels.append(Label(view.nodes[end].span, f"`{_name(view, end)}` flows on, but into no loss"))
    elif outputs:
        ending = f"`{_name(view, end)}` only reaches output `{outputs[0].name}`"
        labels.append(Label(outputs[0].span, ending))
    else:
        ending = f"`{_name(view, end)}` is never read after this"
        labels.append(Label(view.nodes[end].span, ending))
    if end == users[0] and not outputs:
        labels[0] = Label(labels[0].span, f"used in the prompt of `{_name(view, end)}`, whose result is never read")
    return Diagnostic(
        code="W0501",
        severity=Severity.WARNING,
        message=f"trainable parameter `{param.name}` has no path to any loss, so it will never learn",
        file=file,
        primary=Label(param.span, "never receives feedback"),
        secondary=_dedupe(labels, param.span),
        notes=("feedback flows backwards from a loss's prediction; no loss reads a value "
               f"computed from `{param.name}`",),
        help=(f"feed the result of the node that uses `{param.name}` into a loss, "
              "or mark the parameter `frozen` if it is not meant to be trained"),
    )


def _target_only(view: GraphView, reach: Reachability, param: ParamDecl, file: str) -> Diagnostic:
    users = [u for u in view.param_users[param.name] if u in reach.target_only]
    chain = _forward_chain(view, users[0], lambda v: v in reach.target_only)
    labels = _use_labels(view, users) + _chain_labels(view, chain[1:])
    end = chain[-1]
    losses = [loss for loss in view.loss_readers.get(end, ()) if loss.target == end]
    if losses:
        labels.append(
            Label(losses[0].span, f"`{_name(view, end)}` enters loss `{losses[0].name}` as its target")
        )
    return Diagnostic(
        code="W0503",
        severity=Severity.WARNING,
        message=(f"trainable parameter `{param.name}` reaches losses only through their target, "
                 "which passes no feedback"),
        file=file,
        primary=Label(param.span, "never receives feedback"),
        secondary=_dedupe(labels, param.span),
        notes=("a loss compares its prediction (first argument) with its target (second "
               "argument); feedback starts at the prediction only",),
        help="pass the value computed from this parameter as the loss's prediction, or freeze it",
    )


def _unreached_loss(
    view: GraphView, reach: Reachability, loss: Loss, trainable: list[str], file: str
) -> Diagnostic:
    labels: list[Label] = []
    notes: list[str] = []
    if loss.pred not in view.nodes:
        notes.append(f"the prediction `{loss.pred}` is read from the data; nothing computes it")
    current: str | None = loss.pred
    while current is not None and len(labels) < MAX_PATH_LABELS:
        node = view.nodes.get(current)
        if node is None:
            break
        if node.kind == "llm" and node.llm is not None:
            params = view.node_params.get(node.id, ())
            why = "uses only frozen parameters" if params else "uses no parameter"
            labels.append(Label(node.span, f"`{node.name}` calls `{node.llm.function}`, which {why}"))
        elif node.kind == "fn" and node.fn is not None:
            labels.append(Label(node.span, f"`{node.name}` is computed by `{node.fn.function}`"))
        elif node.kind == "field":
            labels.append(Label(node.span, f"`{node.name}` is the field `{node.field}` of a record"))
        else:
            labels.append(Label(node.span, f"`{node.name}` is a constant"))
        current = next((s for s in view.sources(node.id) if s in view.nodes), None)
    if trainable:
        notes.append("the trainable parameters (" + ", ".join(f"`{p}`" for p in trainable)
                     + f") do not shape the prediction `{loss.pred}`")
    else:
        notes.append("the program has no trainable parameter (all are `frozen` or there are none)")
    return Diagnostic(
        code="W0502",
        severity=Severity.WARNING,
        message=f"loss `{loss.name}` is reached by no trainable parameter, so training cannot improve it",
        file=file,
        primary=Label(loss.span, "no trainable parameter upstream of this prediction"),
        secondary=_dedupe(labels, loss.span),
        notes=tuple(notes),
        help=("make a parameter used on the way to the prediction trainable (drop `frozen`), "
              "or keep this loss for evaluation only and disable W0502 for it"),
    )


def _use_labels(view: GraphView, users: tuple[str, ...] | list[str]) -> list[Label]:
    labels = []
    for node_id in users[:3]:
        node = view.nodes[node_id]
        labels.append(Label(node.span, f"used in the prompt of `{root_name(node)}`"))
    return labels


def _forward_chain(view: GraphView, start: str, allowed: Callable[[str], bool]) -> list[str]:
    """One path forward from `start` (first reader that `allowed` accepts), capped."""
    chain = [start]
    while len(chain) < MAX_PATH_LABELS:
        nxt = next((r for r in view.readers(chain[-1]) if allowed(r)), None)
        if nxt is None:
            break
        chain.append(nxt)
    return chain


def _chain_labels(view: GraphView, chain: list[str]) -> list[Label]:
    return [Label(view.nodes[n].span, f"flows into `{view.nodes[n].name}`") for n in chain]


def _name(view: GraphView, value: str) -> str:
    """The name the user wrote: an operand node of `+` (`notes.sum1`) is shown as its owner."""
    node = view.nodes.get(value)
    return value if node is None else root_name(node)


def _dedupe(labels: list[Label], primary: Span) -> tuple[Label, ...]:
    """Drop labels repeating an earlier span (loop copies share one) or the primary span."""
    seen = {primary}
    kept = []
    for label in labels:
        if label.span not in seen:
            seen.add(label.span)
            kept.append(label)
    return tuple(kept)
