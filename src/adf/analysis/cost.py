"""Cost before running: model calls, tokens and dollars of a workflow.

Takes a `Plan`, optional data rows (for typical input sizes) and a
`Scenario`: the run's `adf.plan.settings.TrainSettings` (the record the
trainer runs by), the validation and test sizes, and the `Rates` (the share
of samples that fail and so need a backward pass, and how proposals fare at
the gate); gives a `CostEstimate`:

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
method's rules (see `ASSUMPTIONS`). Tokens are estimates (`adf.analysis.sizes`)
unless `History` says what the same kind of call (model, node, purpose) took
on average before: the reply cache keeps that per model
(`adf.llm.cache.ReplyCache.history`), and a call seen before is sized by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from adf.analysis import costflow
from adf.analysis.branchcost import (
    CostRange,
    branch_range,
    expected_shares,
    has_branches,
    rescaled,
)
from adf.analysis.costhistory import History, Rates, Spent, forecast, times
from adf.analysis.costnotes import ASSUMPTIONS, HISTORY_VALUES, RERUN_SHARE, SCREEN_PASS
from adf.analysis.deadcode import live_values
from adf.analysis.graphview import GraphView, build_view
from adf.analysis.reachability import Reachability, compute_reachability
from adf.analysis.rolesizes import Draw, backward_call, optimizer_call
from adf.analysis.sizes import (
    FEEDBACK_TOKENS,
    REASONING_TOKENS,
    SHORT_REPLY,
    ReplySize,
    Sizes,
    compute_sizes,
)
from adf.llm.catalogue import ROLES, Role, estimate_tokens, price, role_model
from adf.llm.usage import Usage
from adf.plan.gaterules import failures_drawn, passes_drawn
from adf.plan.schema import Plan
from adf.plan.settings import TrainSettings


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
class Scenario:
    """The run a forecast describes: the training settings, the splits' sizes and the rates."""

    train: TrainSettings = attrs.field(factory=TrainSettings)
    val_size: int = 50
    test_size: int = 0
    rates: Rates = attrs.field(factory=Rates)
    spent: Spent = attrs.field(factory=Spent)  # a resumed run: what it did before

    @property
    def steps(self) -> int:
        return self.train.run_steps

    @property
    def left(self) -> int:
        """The steps still to run (all of them, unless the run is resumed)."""
        return max(self.steps - self.spent.steps, 0)

    @property
    def batch(self) -> int:
        return self.train.batch_size

    @property
    def fail_rate(self) -> float:
        return min(max(self.rates.fail_rate, 0.0), 1.0)

    @property
    def extra_batches(self) -> float:
        """Expected extra batches per step: each is drawn while every sample so far passed."""
        clean = (1.0 - self.fail_rate) ** self.batch
        return sum(clean ** k for k in range(1, self.train.fill_batches + 1))

    @property
    def screen(self) -> float:
        """Share of prompt proposals that pass the cheap checks."""
        measured = self.rates.screen_pass
        return SCREEN_PASS if measured is None else measured

    @property
    def to_validation(self) -> float:
        """Share of checked proposals that go on to validation.

        A measured rate stands as it is (it comes from the gate the run used);
        otherwise the gate's minibatch rule decides (`costflow.pass_minibatch`).
        """
        if self.rates.pass_minibatch is not None:
            return self.rates.pass_minibatch
        return costflow.pass_minibatch(self.errors, self.checked - self.errors, self.fail_rate,
                                       strict=self.train.minibatch_strict)

    @property
    def val_fraction(self) -> float:
        """Share of the validation set a proposal that reached it is scored on."""
        if self.rates.val_share is not None:
            return self.rates.val_share
        return costflow.val_share(self.val_size, self.train.val_chunk, self.fail_rate,
                                  ties=self.train.accept_ties)

    @property
    def accept(self) -> float:
        """Chance a gated proposal is accepted: it goes on to validation and wins there."""
        win = self.rates.win_share
        if win is None:
            win = costflow.val_wins(self.val_size, self.fail_rate, ties=self.train.accept_ties)
        return self.to_validation * win

    def settled(self, accepts: float) -> Scenario:
        """This run with its failure rate averaged over the steps left, each accepting a
        change with chance `accepts` (after one, samples fail at `Rates.fail_after`)."""
        after = self.rates.fail_after
        rate = costflow.settled_fail_rate(self.fail_rate, self.fail_rate if after is None
                                          else after, accepts, self.left)
        return attrs.evolve(self, rates=attrs.evolve(self.rates, fail_rate=rate, fail_after=rate))

    @property
    def reruns(self) -> float:
        """Drawn failures per step run again: after the first step, some are earlier ones."""
        return self.errors * RERUN_SHARE * max(self.steps - 1, 0) / max(self.steps, 1)

    @property
    def errors(self) -> int:
        """Failing samples drawn per step (`adf.plan.gaterules`, as the trainer draws them)."""
        return failures_drawn(math.ceil(self.batch * self.fail_rate), self.train.max_errors)

    @property
    def checked(self) -> int:
        """Samples a proposal is checked on: the drawn failures and the passes drawn with them."""
        passing = min(self.batch - self.errors, round(self.batch * (1 - self.fail_rate)))
        return self.errors + passes_drawn(self.errors, passing, self.train.max_passed)


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
    settings: Scenario
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
    # the range: the gate's outcome at either end (no checked proposal scored on validation;
    # every proposal passing the cheap checks and scored on the whole of it) and, for tokens,
    # replies from one line (demo sets as now) to max_tokens (demo sets at capacity)
    calls_low: int = 0
    calls_high: int = 0
    tokens_low: int = 0
    tokens_high: int = 0

    @property
    def has_range(self) -> bool:
        """Whether the range says more than the point (the run may go either way)."""
        return (self.calls_low, self.calls_high, self.tokens_low, self.tokens_high) != (
            self.total.calls, self.total.calls, self.total.tokens, self.total.tokens)

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
            "calls_low": self.calls_low, "calls_high": self.calls_high,
            "tokens_low": self.tokens_low, "tokens_high": self.tokens_high,
            "by_role": {role: {"calls": u.calls, "prompt_tokens": u.prompt_tokens,
                               "completion_tokens": u.completion_tokens}
                        for role, u in self.by_role().items()},
            "assumptions": list(self.assumptions),
        }


def estimate_cost(
    plan: Plan,
    *,
    data_rows: Iterable[Mapping[str, Any]] | None = None,
    settings: Scenario | None = None,
    pricing: bool = False,
    history: History | None = None,
) -> CostEstimate:
    """The one forecast behind `adfc cost` and `adfc train --dry-run`.

    Its tokens count a free-text reply the loss scores against a target at
    that target's length and other free text at a `str` value's typical
    size, and demo sets as full as the demo proposals and their acceptance
    leave them (`costflow.demo_fill`); the range's low tokens are those of
    the run with one-line replies, the demo sets as they are now and no
    proposal scored on validation, its high ones those with replies at
    `max_tokens`, demo sets at capacity and every proposal scored on all of
    validation.
    """
    rows = None if data_rows is None else list(data_rows)
    estimate = _estimate(plan, rows, settings, pricing, history, reply="expected")
    low = _estimate(plan, rows, settings, False, history, reply="short").tokens_low
    ceiling = attrs.evolve(history, ceiling=True) if history is not None and history.used else history
    high = _estimate(plan, rows, settings, False, ceiling, reply="bound").tokens_high
    return attrs.evolve(estimate, tokens_low=min(low, estimate.tokens_low),
                        tokens_high=max(high, estimate.tokens_high))


def _estimate(plan: Plan, data_rows: Iterable[Mapping[str, Any]] | None,
              settings: Scenario | None, pricing: bool, history: History | None, *,
              reply: ReplySize) -> CostEstimate:
    history = history or History()
    settings = settings or Scenario()
    calibrated = settings.rates.calibrated
    source = "the run's finished steps" if calibrated else "the reply cache's history"
    settings = attrs.evolve(settings, rates=history.calibrate(settings.rates))
    view = build_view(plan)
    short = reply == "short"
    note = SHORT_REPLY if short else FEEDBACK_TOKENS  # one piece of feedback
    reach = compute_reachability(view)
    live = live_values(view)
    engine = _role(plan, "backward")
    demo_params = sum(1 for p in plan.params if p.name in reach.learning and p.kind == "demos")
    prompt_params = sum(1 for p in plan.params if p.name in reach.learning and p.kind == "prompt")
    # the trainer asks for feedback only when a prompt may change (no feedback it cannot use)
    feedback = settings.train.proposals > 0 and prompt_params > 0
    shares = {**expected_shares(plan), **history.shares(plan)}
    demo_gates = demo_params * settings.train.demo_proposals
    proposals, joint = settings.train.proposals, settings.train.joint_gate
    # an accepted change ends a prompt's attempts in its step; later steps fail at the rate after
    asked = _asked(view, reach.learning, settings, history, shares)
    flow = costflow.prompt_flow(asked, proposals, settings.screen, settings.accept, joint=joint)
    settings = settings.settled(1.0 - (1.0 - flow.accepts)
                                * (1.0 - settings.accept) ** demo_gates)
    asked = _asked(view, reach.learning, settings, history, shares)
    flow = costflow.prompt_flow(asked, proposals, settings.screen, settings.accept, joint=joint)
    point = costflow.Gating(flow.gates + demo_gates, settings.to_validation * settings.val_size
                            * settings.val_fraction)
    # demo sets: as they are (short), at capacity (bound), or as full as training leaves them
    samples = _samples(settings, point, demo_gates, bool(reach.learning))
    fill = _fill(settings, samples, demo_params) if reply == "expected" else float(reply == "bound")
    sizes = compute_sizes(view, data_rows, reply=reply, fill=fill)
    seen = history.demo_fill  # a call the history sized: its prompt grows by the fill's change
    grow = _grown(view, data_rows, _fill(settings, samples, demo_params, scoring=False) - seen
                  ) if seen is not None and demo_params and reply == "expected" else {}
    nodes = []
    for node in plan.nodes:
        if node.llm is None:
            continue
        prompt, size = sizes.prompts[node.id], sizes.replies[node.id]
        backward = Usage()
        if feedback and node.id in reach.gradient_nodes:
            shown = [estimate_tokens(view.params[p].value)  # demo sets get no feedback
                     for p in view.trainable_params(node.id) if view.params[p].kind == "prompt"]
            shown += [sizes.values.get(s, 0) for s in view.sources(node.id) if s in reach.trained]
            backward = history.sized(engine or node.llm.model, node.id, "backward",
                                     forecast(1, *backward_call(prompt, size, shown, note)))
        forward = history.sized(node.llm.model, node.id, "forward", forecast(1, prompt, size),
                                grow.get(node.id, 0))
        nodes.append(
            NodeCost(node.id, node.name, node.llm.function, node.llm.model, node.step,
                     forward, backward, node.id in live)
        )
    roles = _roles(plan)
    forward_by_model: dict[str, list[tuple[Usage, float]]] = {}
    backward_by_model: dict[str, list[tuple[Usage, float]]] = {}
    for cost in nodes:
        share = shares.get(cost.node_id, 1.0)
        forward_by_model.setdefault(cost.model, []).append((cost.forward, share))
        if cost.backward.calls:
            backward_by_model.setdefault(engine or cost.model, []).append((cost.backward, share))
    blame_model = engine or next((m.name for m in plan.models), None)  # else: a producer
    blame = (_blame(plan, view, reach, sizes.replies, history, blame_model, note)
             if feedback and blame_model is not None else Usage())
    if blame.calls and blame_model is not None:
        backward_by_model.setdefault(blame_model, []).append((blame, 1.0))
    forward = sum((c.forward for c in nodes), Usage())
    backward = sum((c.backward for c in nodes), Usage()) + blame
    parts = list(zip(_optimizer(view, sizes, reach.learning, settings, history, short=short),
                     asked, strict=True))
    optimizer = _scaled([(one, calls) for (one, _), calls in zip(parts, flow.calls,
                                                                 strict=True)], 1.0)
    teacher = _teacher(view, reach.learning, sizes.prompts, sizes.replies, settings, history)
    every = costflow.gates_per_step(asked, proposals, 1.0, joint=joint) + demo_gates
    branches = _branches(plan, nodes)
    # the range: at the low end each prompt's first usable proposal goes through (one
    # optimizer call a step) and nothing is scored on validation, at the high end every
    # proposal passes the cheap checks and is scored on all of it; without a history of how
    # the branches ran, a sample's calls go from its fewest to its most
    first = costflow.gates_per_step(asked, min(proposals, 1), settings.screen,
                                    joint=joint) + demo_gates
    measured = bool(history.shares(plan))
    ends = [sum((p.usage for p in _phases(
        forward_by_model if measured else rescaled(forward_by_model,
                                                   branches and branches[0], end),
        backward_by_model, calls, teacher,
        _samples(settings, gating, demo_gates, bool(reach.learning)), settings, plan)),
        Usage())
        for end, calls, gating in (
            ("low", _scaled(parts, min(proposals, 1)), costflow.Gating(first, 0.0)),
            ("high", _scaled(parts, proposals), costflow.Gating(every, settings.val_size)))]
    phases = _phases(forward_by_model, backward_by_model, optimizer, teacher, samples, settings,
                     plan)
    total = sum((p.usage for p in phases), Usage())
    priced_phases, dollars, unpriced = _price(plan, phases, pricing)
    return CostEstimate(
        nodes=tuple(nodes),
        forward=forward,
        backward=backward,
        optimizer=optimizer,
        settings=settings,
        run=priced_phases,
        total=total,
        dollars=dollars,
        priced=pricing,
        unpriced_models=unpriced,
        inputs=tuple(
            InputSize(d.name, sizes.values[d.name], d.name in sizes.measured)
            for d in (*plan.inputs, *plan.targets)
        ),
        roles=roles,
        assumptions=ASSUMPTIONS + _calibration(settings, history, source),
        branches=branches,
        calls_low=min(ends[0].calls, total.calls), calls_high=max(ends[1].calls, total.calls),
        tokens_low=min(ends[0].tokens, total.tokens),
        tokens_high=max(ends[1].tokens, total.tokens),
    )


def _grown(view: GraphView, rows: Iterable[Mapping[str, Any]] | None, change: float
           ) -> dict[str, int]:
    """Per llm node, how much longer its prompt is when its demo sets are `change` fuller
    (negative: emptier) than they were on average."""
    empty = compute_sizes(view, rows, reply="expected", fill=0.0).prompts
    full = compute_sizes(view, rows, reply="expected", fill=1.0).prompts
    return {node: round(change * (full[node] - empty[node])) for node in full}


def _blame(plan: Plan, view: GraphView, reach: Reachability, replies: Mapping[str, int],
           history: History, model: str, note: int) -> Usage:
    """Calls that split a function's feedback over its several trained inputs."""
    total = Usage()
    for node in plan.nodes:
        sources = [s for s in view.sources(node.id) if s in reach.trained]
        if node.kind != "fn" or node.id not in reach.gradient_nodes or len(sources) < 2:
            continue
        shown = [replies.get(s, FEEDBACK_TOKENS) for s in sources]
        total = total + history.sized(model, node.id, "backward",
                                      forecast(1, *backward_call(0, 0, shown, note)))
    return total


def _calibration(settings: Scenario, history: History, source: str) -> tuple[str, ...]:
    notes = []
    if settings.rates.calibrated:
        notes.append(
            f"calibrated by {source}: {settings.fail_rate:.0%} of samples fail, "
            f"{settings.screen:.0%} of prompt proposals pass the cheap checks, "
            f"{settings.to_validation:.0%} of checked ones reach validation and are scored on "
            f"{settings.val_fraction:.0%} of it, {settings.accept:.0%} are accepted")
    if history.used:
        notes.append(f"tokens of {history.used} kinds of call (model, node, purpose) from the "
                     "reply cache's history")
    return tuple(notes)


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


def _asked(view: GraphView, learning: frozenset[str], settings: Scenario, history: History,
           shares: Mapping[str, float]) -> list[float]:
    """Per learning prompt, the share of steps it gets any optimizer call (its feedback asks
    for a change): as the history measured, else when a drawn failure took its node."""
    prompts = [p.name for p in view.plan.params if p.name in learning and p.kind == "prompt"]
    measured = history.optimized(_role(view.plan, "optimizer"), prompts)
    out = []
    for name in prompts:
        # behind a branch, a parameter gets feedback only when a drawn failure took it
        taken = max((shares.get(u, 1.0) for u in view.param_users[name]), default=1.0)
        out.append(measured.get(name, 1.0 - (1.0 - taken) ** max(settings.errors, 1)))
    return out


def _optimizer(view: GraphView, sizes: Sizes, learning: frozenset[str], settings: Scenario,
               history: History, *, short: bool) -> list[Usage]:
    """Per learning prompt: one optimizer call for it."""
    model = _role(view.plan, "optimizer")
    prompts = [p for p in view.plan.params if p.name in learning and p.kind == "prompt"]
    steps, proposals = max(settings.steps, 1), settings.train.proposals
    draw = Draw(errors=settings.errors, passes=settings.checked - settings.errors,
                history=sum(min(k, HISTORY_VALUES) for k in range(1, steps + 1)) / steps,
                rejected=(proposals - 1) / 2,
                feedback=SHORT_REPLY if short else FEEDBACK_TOKENS,
                reasoning=SHORT_REPLY if short else REASONING_TOKENS)
    return [history.sized(model, f"optimizer:{param.name}", "optimizer",
                          forecast(1, *optimizer_call(view, sizes, param.name, draw)))
            for param in prompts]


def _samples(s: Scenario, gating: costflow.Gating, demo_gates: int, trains: bool
             ) -> costflow.Samples:
    """The run's forward samples (`costflow.Samples`) with each step running `gating`."""
    return costflow.Samples(
        before=0 if s.spent.scored else s.val_size + s.test_size,
        after=0 if s.spent.finished and not s.left else s.test_size, batch=s.batch,
        extra=s.batch * s.extra_batches if trains else 0, reruns=s.reruns if trains else 0,
        gates=gating.gates, demo_gates=demo_gates, checked=s.checked, validated=gating.validated)


def _fill(s: Scenario, samples: costflow.Samples, demo_params: int, *, scoring: bool = True
          ) -> float:
    """The share of the run's demo sets full over its forward samples (`costflow.demo_fill`;
    without `scoring`: the steps' samples only, as `adf.optim.observed` measures it)."""
    return costflow.demo_fill(samples.calls(scoring=scoring), steps=s.left, accept=s.accept,
                              proposals=s.train.demo_proposals, params=demo_params)


def _teacher(
    view: GraphView,
    learning: frozenset[str],
    prompts: Mapping[str, int],
    replies: Mapping[str, int],
    settings: Scenario,
    history: History,
) -> Usage:
    total = Usage()
    teacher = _role(view.plan, "teacher")
    node_models = {n.llm.model for n in view.plan.nodes if n.llm is not None}
    if teacher is None or node_models == {teacher}:
        return total  # the student teaching itself would replay its own calls: skipped
    for param in view.plan.params:
        if param.name in learning and param.kind == "demos":
            for user in view.param_users[param.name]:
                one = history.sized(teacher, user, "teacher",
                                    forecast(1, prompts[user], replies[user]))
                total = total + times(one, settings.errors)
    return total


def _scaled(parts: Sequence[tuple[Usage, float]], count: float) -> Usage:
    """The sum of each usage times its share, `count` times over, rounded up once."""
    return forecast(
        math.ceil(sum(u.calls * share for u, share in parts) * count - 1e-9),
        math.ceil(sum(u.prompt_tokens * share for u, share in parts) * count - 1e-9),
        math.ceil(sum(u.completion_tokens * share for u, share in parts) * count - 1e-9))


def _phases(
    forward_by_model: Mapping[str, Sequence[tuple[Usage, float]]],
    backward_by_model: Mapping[str, Sequence[tuple[Usage, float]]],
    optimizer: Usage,
    teacher: Usage,
    samples: costflow.Samples,
    settings: Scenario,
    plan: Plan,
) -> list[PhaseCost]:
    """The run by phase: forward samples of each kind, then the frozen roles' calls."""
    s = settings
    steps = s.left
    phases: list[PhaseCost] = []
    for phase, count in samples.phases(steps):
        for model, parts in forward_by_model.items():
            phases.append(PhaseCost(phase, model, _scaled(parts, count)))
    for model, parts in backward_by_model.items():
        phases.append(PhaseCost("backward", model, _scaled(parts, steps * s.errors)))
    optimizer_model = _role(plan, "optimizer")
    if optimizer_model is not None:
        phases.append(PhaseCost("optimizer", optimizer_model, times(optimizer, steps)))
    teacher_model = _role(plan, "teacher")
    if teacher_model is not None:
        phases.append(PhaseCost("teacher demos", teacher_model, times(teacher, steps)))
    return [p for p in (*_spent(s.spent, plan), *phases) if p.usage.calls]


def _spent(spent: Spent, plan: Plan) -> list[PhaseCost]:
    """A resumed run's usage so far, by role, under the model playing it."""
    task = next(iter([*(n.llm.model for n in plan.nodes if n.llm), *(m.name for m in plan.models), ""]))
    models = {"forward": task, "backward": _role(plan, "backward") or task,
              "optimizer": _role(plan, "optimizer") or task,
              "teacher": _role(plan, "teacher") or task}
    return [PhaseCost(f"{purpose} before resuming", models.get(purpose, task),
                      forecast(usage.calls, usage.prompt_tokens, usage.completion_tokens))
            for purpose, usage in spent.usage]


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
