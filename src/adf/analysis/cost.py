"""Cost before running: model calls, tokens and dollars of a workflow.

Takes a `Plan`, optional data rows (for typical input sizes) and the run's
settings (steps, batch, validation size, proposals per step, the share of
samples that fail and so need a backward pass); gives a `CostEstimate`:

- per llm node: its calls and tokens for one sample's forward pass, and for
  one failed sample's backward pass;
- `forward` (per sample), `backward` (per failed sample) and `optimizer`
  (per training step) totals, kept separate so `adfc train --dry-run` can
  reuse them;
- the whole training run by phase and model, and dollars where the price of
  every model involved is known (`adf.llm.catalogue.price`, looked up only
  when `pricing=True`; adf's `local` model is free).

Calls are exact for the forward pass (one per llm node; the runtime runs
every node, dead ones included). Backward and optimizer counts follow the
method's rules (see `ASSUMPTIONS`); tokens are estimates (`adf.analysis.sizes`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from adf.analysis.branchcost import CostRange, branch_range, has_branches
from adf.analysis.deadcode import live_values
from adf.analysis.graphview import GraphView, build_view
from adf.analysis.reachability import compute_reachability
from adf.analysis.sizes import (
    BACKWARD_OVERHEAD,
    FEEDBACK_TOKENS,
    OPTIMIZER_OVERHEAD,
    REASONING_TOKENS,
    compute_sizes,
)
from adf.llm.catalogue import ROLES, Role, estimate_tokens, price, role_model
from adf.llm.usage import Usage
from adf.plan.schema import Plan

HISTORY_VALUES = 3  # earlier values (with scores) shown to the optimizer

SCREEN_PASS = 0.5  # prompt proposals that survive the parser, leak guard and sanity filter
PASS_MINIBATCH = 0.3  # share of proposals that beat the minibatch and go on to validation
VAL_SHARE = 0.7  # share of the validation set a gated proposal is scored on (early stop)
RERUN_SHARE = 0.5  # drawn failures that came from an earlier step and are run again

ASSUMPTIONS = (
    "forward: one call per llm node per sample, dead nodes included; a node inside an "
    "`if`/`match` branch runs only when its branch is taken, so the forward and backward "
    "totals count every branch (the upper bound) and the range line gives the bounds and the expectation with every "
    "label equally likely",
    "backward: only failed samples (at most 2 drawn per step); one backward-engine call per "
    "llm node on a path from a trainable parameter to a loss; prompt = the node's prompt and "
    f"reply, the downstream feedback and {BACKWARD_OVERHEAD} tokens of instructions; reply = "
    f"{FEEDBACK_TOKENS} tokens per parameter or input that gets feedback",
    "optimizer: `proposals` calls per learning prompt parameter per step; prompt = "
    f"{OPTIMIZER_OVERHEAD} tokens of instructions, the value and {HISTORY_VALUES} earlier ones, "
    "its peers and the step's feedback",
    f"gate: {SCREEN_PASS:.0%} of prompt proposals pass the cheap checks (parser, leak guard, "
    "sanity filter); those and every demo-set proposal are checked on the drawn failures and "
    f"passes; {PASS_MINIBATCH:.0%} of them pass and are scored on ~{VAL_SHARE:.0%} of the "
    f"validation set; {RERUN_SHARE:.0%} of the drawn failures come from an earlier step and are "
    "run again",
    "scoring: the validation set once and the test set before and after training",
    "demos: each demos parameter gets `demo proposals` candidates per step; with a teacher "
    "model, one teacher call per drawn failure and node using it",
    "tokens: characters / 4; replies count at the model's max_tokens when declared",
)


def forecast(calls: int, prompt_tokens: int, completion_tokens: int) -> Usage:
    """Forecast usage: every call is one provider request (no cache, no retries)."""
    return Usage(calls=calls, requests=calls, prompt_tokens=prompt_tokens,
                 completion_tokens=completion_tokens)


def times(usage: Usage, factor: float) -> Usage:
    """`usage` repeated `factor` times, rounded up."""
    return forecast(math.ceil(usage.calls * factor), math.ceil(usage.prompt_tokens * factor),
                    math.ceil(usage.completion_tokens * factor))


@attrs.frozen
class NodeCost:
    node_id: str
    name: str
    function: str
    model: str
    step: int | None
    forward: Usage
    backward: Usage
    live: bool


@attrs.frozen
class RunSettings:
    steps: int = 4
    batch: int = 4
    val_size: int = 50
    test_size: int = 0
    proposals: int = 3
    demo_proposals: int = 1
    fail_rate: float = 0.5
    max_errors: int = 2  # failing samples drawn per step for the backward pass
    max_passed: int = 2  # passing samples drawn with them for the minibatch check

    @property
    def errors(self) -> int:
        """Failing samples drawn per step."""
        return min(self.max_errors, math.ceil(self.batch * self.fail_rate))

    @property
    def checked(self) -> int:
        """Samples a proposal is checked on: the drawn failures and passes."""
        return self.errors + min(self.max_passed, 2 * self.errors, self.batch - self.errors)


@attrs.frozen
class PhaseCost:
    phase: str
    model: str
    usage: Usage
    dollars: float | None = None


@attrs.frozen
class InputSize:
    name: str
    tokens: int
    measured: bool


@attrs.frozen
class CostEstimate:
    nodes: tuple[NodeCost, ...]
    forward: Usage
    backward: Usage
    optimizer: Usage
    settings: RunSettings
    run: tuple[PhaseCost, ...]
    total: Usage
    dollars: float | None
    priced: bool
    unpriced_models: tuple[str, ...]
    inputs: tuple[InputSize, ...]
    roles: tuple[tuple[str, str], ...]
    assumptions: tuple[str, ...] = ASSUMPTIONS
    # per sample, forward: (calls, tokens) as intervals when branches make them vary
    branches: tuple[CostRange, CostRange] | None = None

    def by_role(self) -> dict[str, Usage]:
        """The run's usage by training role (forward, backward, optimizer, teacher)."""
        out: dict[str, Usage] = {}
        for phase in self.run:
            role = phase.phase.split(",")[0].split(" ")[0]
            out[role] = out.get(role, Usage()) + phase.usage
        return out

    def summary_json(self) -> dict[str, Any]:
        """The forecast as the training report keeps it, next to the actual usage."""
        return {
            "calls": self.total.calls, "tokens": self.total.tokens,
            "prompt_tokens": self.total.prompt_tokens,
            "completion_tokens": self.total.completion_tokens, "usd": self.dollars,
            "by_role": {role: {"calls": u.calls, "prompt_tokens": u.prompt_tokens,
                               "completion_tokens": u.completion_tokens}
                        for role, u in self.by_role().items()},
            "assumptions": list(self.assumptions),
        }


def estimate_cost(
    plan: Plan,
    *,
    data_rows: Iterable[Mapping[str, Any]] | None = None,
    settings: RunSettings | None = None,
    pricing: bool = False,
) -> CostEstimate:
    """The one forecast behind `adfc cost` and `adfc train --dry-run`."""
    settings = settings or RunSettings()
    settings = attrs.evolve(settings, fail_rate=min(max(settings.fail_rate, 0.0), 1.0))
    view = build_view(plan)
    sizes = compute_sizes(view, data_rows)
    reach = compute_reachability(view)
    live = live_values(view)
    nodes = []
    for node in plan.nodes:
        if node.llm is None:
            continue
        prompt, reply = sizes.prompts[node.id], sizes.replies[node.id]
        backward = Usage()
        if node.id in reach.gradient_nodes:
            targets = len(view.trainable_params(node.id))
            targets += sum(1 for s in view.sources(node.id) if s in reach.trained)
            backward = forecast(
                1,
                prompt + reply + FEEDBACK_TOKENS + BACKWARD_OVERHEAD,
                FEEDBACK_TOKENS * max(targets, 1),
            )
        nodes.append(
            NodeCost(node.id, node.name, node.llm.function, node.llm.model, node.step,
                     forecast(1, prompt, reply), backward, node.id in live)
        )
    roles = _roles(plan)
    forward_by_model: dict[str, Usage] = {}
    backward_by_model: dict[str, Usage] = {}
    engine = _role(plan, "backward")
    for cost in nodes:
        forward_by_model[cost.model] = forward_by_model.get(cost.model, Usage()) + cost.forward
        if cost.backward.calls:
            key = engine or cost.model
            backward_by_model[key] = backward_by_model.get(key, Usage()) + cost.backward
    forward = sum((c.forward for c in nodes), Usage())
    backward = sum((c.backward for c in nodes), Usage())
    optimizer = _optimizer(view, reach.learning, settings)
    teacher = _teacher(view, reach.learning, sizes.prompts, sizes.replies, settings)
    demo_params = sum(1 for p in plan.params if p.name in reach.learning and p.kind == "demos")
    gated = optimizer.calls * SCREEN_PASS + demo_params * settings.demo_proposals
    phases = _phases(forward_by_model, backward_by_model, optimizer, teacher, gated, settings, plan)
    priced_phases, dollars, unpriced = _price(plan, phases, pricing)
    return CostEstimate(
        nodes=tuple(nodes),
        forward=forward,
        backward=backward,
        optimizer=optimizer,
        settings=settings,
        run=priced_phases,
        total=sum((p.usage for p in phases), Usage()),
        dollars=dollars,
        priced=pricing,
        unpriced_models=unpriced,
        inputs=tuple(
            InputSize(d.name, sizes.values[d.name], d.name in sizes.measured)
            for d in (*plan.inputs, *plan.targets)
        ),
        roles=roles,
        branches=_branches(plan, nodes),
    )


def _branches(plan: Plan, nodes: list[NodeCost]) -> tuple[CostRange, CostRange] | None:
    if not has_branches(plan):
        return None
    calls = branch_range(plan, {c.node_id: 1.0 for c in nodes})
    tokens = branch_range(plan, {c.node_id: float(c.forward.tokens) for c in nodes})
    return calls, tokens


def _role(plan: Plan, role: Role) -> str | None:
    """The declared name of the model playing `role` (`adf.llm.catalogue.role_model`)."""
    decl = role_model(plan, role)
    return None if decl is None else decl.name


def _roles(plan: Plan) -> tuple[tuple[str, str], ...]:
    found = []
    for role in ROLES:
        model = _role(plan, role)
        if model is not None:
            found.append((role, model))
        elif role == "backward":
            found.append((role, "each node's own model"))
    return tuple(found)


def _optimizer(view: GraphView, learning: frozenset[str], settings: RunSettings) -> Usage:
    total = Usage()
    feedback_per_use = settings.errors * FEEDBACK_TOKENS
    for param in view.plan.params:
        if param.name not in learning or param.kind != "prompt":
            continue
        value = estimate_tokens(param.value)
        users = view.param_users[param.name]
        peers = {p for u in users for p in view.node_params[u] if p != param.name}
        peer_tokens = sum(estimate_tokens(view.params[p].value) for p in sorted(peers))
        prompt = (OPTIMIZER_OVERHEAD + value * (1 + HISTORY_VALUES) + peer_tokens
                  + feedback_per_use * len(users))
        total = total + times(forecast(1, prompt, value + REASONING_TOKENS), settings.proposals)
    return total


def _teacher(
    view: GraphView,
    learning: frozenset[str],
    prompts: Mapping[str, int],
    replies: Mapping[str, int],
    settings: RunSettings,
) -> Usage:
    total = Usage()
    teacher = _role(view.plan, "teacher")
    node_models = {n.llm.model for n in view.plan.nodes if n.llm is not None}
    if teacher is None or node_models == {teacher}:
        return total  # the student teaching itself would replay its own calls: skipped
    for param in view.plan.params:
        if param.name in learning and param.kind == "demos":
            for user in view.param_users[param.name]:
                total = total + times(forecast(1, prompts[user], replies[user]), settings.errors)
    return total


def _phases(
    forward_by_model: Mapping[str, Usage],
    backward_by_model: Mapping[str, Usage],
    optimizer: Usage,
    teacher: Usage,
    gated: float,
    settings: RunSettings,
    plan: Plan,
) -> list[PhaseCost]:
    """The run by phase: forward samples of each kind, then the frozen roles' calls."""
    s = settings
    samples = [
        ("forward, scoring validation and test", s.val_size + 2 * s.test_size),
        ("forward, training minibatches", s.steps * s.batch),
        ("forward, re-running drawn failures",
         s.steps * s.errors * RERUN_SHARE if backward_by_model else 0),
        ("forward, checking proposals", s.steps * gated * s.checked),
        ("forward, validating proposals", s.steps * gated * PASS_MINIBATCH * s.val_size * VAL_SHARE),
    ]
    phases: list[PhaseCost] = []
    for phase, count in samples:
        for model, usage in forward_by_model.items():
            phases.append(PhaseCost(phase, model, times(usage, count)))
    for model, usage in backward_by_model.items():
        phases.append(PhaseCost("backward", model, times(usage, s.steps * s.errors)))
    optimizer_model = _role(plan, "optimizer")
    if optimizer_model is not None:
        phases.append(PhaseCost("optimizer", optimizer_model, times(optimizer, s.steps)))
    teacher_model = _role(plan, "teacher")
    if teacher_model is not None:
        phases.append(PhaseCost("teacher demos", teacher_model, times(teacher, s.steps)))
    return [p for p in phases if p.usage.calls]


def _price(
    plan: Plan, phases: list[PhaseCost], pricing: bool
) -> tuple[tuple[PhaseCost, ...], float | None, tuple[str, ...]]:
    if not pricing:
        return tuple(phases), None, ()
    strings = {m.name: m.model for m in plan.models}
    priced: list[PhaseCost] = []
    unpriced: list[str] = []
    total = 0.0
    for phase in phases:
        known = price(strings[phase.model]) if phase.model in strings else None
        if known is None:
            if phase.model not in unpriced:
                unpriced.append(phase.model)
            priced.append(phase)
            continue
        dollars = known.of(phase.usage.prompt_tokens, phase.usage.completion_tokens)
        total += dollars
        priced.append(attrs.evolve(phase, dollars=dollars))
    return tuple(priced), (None if unpriced else total), tuple(unpriced)
