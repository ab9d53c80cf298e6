"""Context-window checks: prompts that cannot fit the model they are sent to.

Takes a `GraphView`, its `Sizes` and `Reachability`; gives diagnostics:

- W0601 an llm node's prompt plus its reply (template, parameters, typical
  inputs, `max_tokens`) is larger than its model's declared `context:`;
- W0602 the backward-engine prompt a node implies (its prompt and reply,
  the downstream feedback and the fixed instructions), or the fixed part of
  the optimizer prompt for a parameter, does not fit the context of the
  model playing that role (without a `train` block: the node's own model
  reviews it, the first llm's model optimizes);
- W0603 inside a loop, the prompt fits at the first time step but grows
  past the context at a later one (state accumulating step after step).

Only models with a known window (`adf.llm.catalogue.context_window`: a
declared `context:` option, adf's `local` model at 2048, or litellm's
table) are checked. One diagnostic per source node, however many
time steps it has.
"""

from __future__ import annotations

from adf.analysis.graphview import GraphView
from adf.analysis.reachability import Reachability
from adf.analysis.sizes import (
    BACKWARD_OVERHEAD,
    FEEDBACK_TOKENS,
    OPTIMIZER_OVERHEAD,
    REASONING_TOKENS,
    Sizes,
)
from adf.diagnostics import Diagnostic, Label, Severity, Span
from adf.llm.catalogue import context_window as model_window
from adf.llm.catalogue import estimate_tokens, role_model
from adf.plan.schema import Node


def check_context(view: GraphView, sizes: Sizes, reach: Reachability, file: str) -> list[Diagnostic]:
    diagnostics = _forward(view, sizes, file)
    engine = role_model(view.plan, "backward")
    diagnostics += _backward(view, sizes, reach, None if engine is None else engine.name, file)
    optimizer_model = role_model(view.plan, "optimizer")
    if optimizer_model is not None:
        diagnostics += _optimizer(view, reach, optimizer_model.name, file)
    return diagnostics


def _forward(view: GraphView, sizes: Sizes, file: str) -> list[Diagnostic]:
    diagnostics = []
    first_fits: dict[tuple[str, Span], bool] = {}
    reported: set[tuple[str, Span]] = set()
    for node in view.plan.nodes:
        if node.llm is None:
            continue
        key = (node.name, node.span)
        need = sizes.prompts[node.id] + sizes.replies[node.id]
        # the model as this function calls it: `using m(context: ...)` counts
        window = model_window(node.llm.bind(view.plan.model(node.llm.model)))
        fits = window is None or need <= window
        first_fits.setdefault(key, fits)
        if fits or key in reported or window is None:
            continue
        reported.add(key)
        breakdown = (f"about {sizes.prompts[node.id]} prompt tokens + "
                     f"{sizes.replies[node.id]} for the reply")
        if first_fits[key]:
            step = ".".join(str(t) for t in node.time)  # `2`; in a nested loop `1.2`
            diagnostics.append(Diagnostic(
                code="W0603",
                severity=Severity.WARNING,
                message=(f"loop `{node.loop}` makes the prompt of `{node.name}` outgrow the "
                         f"{window}-token context of model `{node.llm.model}` at time step {step}"),
                file=file,
                primary=Label(node.span, f"needs ~{need} tokens at step {step}"),
                secondary=_loop_label(view, node),
                notes=(breakdown + "; the prompt grows with the loop's state",),
                help="lower the loop's bound, keep less state per step, or use a model with a larger context",
            ))
        else:
            diagnostics.append(Diagnostic(
                code="W0601",
                severity=Severity.WARNING,
                message=(f"the prompt of `{node.name}` needs ~{need} tokens, more than the "
                         f"{window}-token context of model `{node.llm.model}`"),
                file=file,
                primary=Label(node.span, "does not fit the model's context"),
                secondary=_model_label(view, node.llm.model),
                notes=(breakdown,),
                help="shorten the template or parameters, lower `max_tokens`, or raise `context:`",
            ))
    return diagnostics


def _backward(
    view: GraphView, sizes: Sizes, reach: Reachability, engine: str | None, file: str
) -> list[Diagnostic]:
    """`engine` None: each node is reviewed by its own model (no `train` block)."""
    diagnostics = []
    reported: set[tuple[str, Span]] = set()
    for node in view.plan.nodes:
        if node.llm is None or node.id not in reach.gradient_nodes:
            continue
        model = engine or node.llm.model
        window = context_window(view, model)
        if window is None:
            continue
        key = (node.name, node.span)
        targets = max(1, len(view.trainable_params(node.id)))
        need = (sizes.prompts[node.id] + sizes.replies[node.id] + FEEDBACK_TOKENS
                + BACKWARD_OVERHEAD + FEEDBACK_TOKENS * targets)
        if need <= window or key in reported:
            continue
        reported.add(key)
        diagnostics.append(Diagnostic(
            code="W0602",
            severity=Severity.WARNING,
            message=(f"the backward prompt for `{node.name}` needs ~{need} tokens, more than the "
                     f"{window}-token context of the backward model `{model}`"),
            file=file,
            primary=Label(node.span, "its feedback prompt does not fit"),
            secondary=_model_label(view, model),
            notes=("the backward engine sees the node's whole prompt and reply, the feedback "
                   f"from downstream and ~{BACKWARD_OVERHEAD} tokens of instructions",),
            help="use a backward model with a larger context in `train { backward: ... }`",
        ))
    return diagnostics


def _optimizer(view: GraphView, reach: Reachability, model: str, file: str) -> list[Diagnostic]:
    window = context_window(view, model)
    if window is None:
        return []
    diagnostics = []
    for param in view.plan.params:
        if param.name not in reach.learning or param.kind != "prompt":
            continue
        value = estimate_tokens(param.value)
        peers = {p for u in view.param_users[param.name] for p in view.node_params[u]} - {param.name}
        peer_tokens = sum(estimate_tokens(view.params[p].value) for p in sorted(peers))
        need = OPTIMIZER_OVERHEAD + value + peer_tokens + value + REASONING_TOKENS
        if need <= window:
            continue
        diagnostics.append(Diagnostic(
            code="W0602",
            severity=Severity.WARNING,
            message=(f"the optimizer prompt for `{param.name}` needs ~{need} tokens, more than the "
                     f"{window}-token context of the optimizer model `{model}`"),
            file=file,
            primary=Label(param.span, "its optimizer prompt does not fit"),
            secondary=_model_label(view, model),
            notes=("the optimizer sees the value, its peers and its instructions "
                   f"(~{OPTIMIZER_OVERHEAD} tokens) and writes a new value and its reasoning",),
            help="shorten the parameter, or use an optimizer model with a larger context",
        ))
    return diagnostics


def _model_label(view: GraphView, model: str) -> tuple[Label, ...]:
    for decl in view.plan.models:
        if decl.name == model:
            return (Label(decl.span, f"model `{model}` declared here"),)
    return ()


def _loop_label(view: GraphView, node: Node) -> tuple[Label, ...]:
    for loop in view.plan.loops:
        if loop.name == node.loop:
            return (Label(loop.span, f"loop `{loop.name}` runs {loop.bound} steps"),)
    return ()


def context_window(view: GraphView, model: str) -> int | None:
    """The context window of the model declared as `model`."""
    return model_window(view.plan.model(model))
