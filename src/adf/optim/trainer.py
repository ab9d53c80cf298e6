"""The training loop: steps of forward, selective backward, proposals and the gate.

Takes a compiled plan (with any lock already applied), the train/val/test
samples, a `ModelClient`, settings and a run folder; gives a `TrainOutcome`
with the final state, and leaves `checkpoint.json` (after setup and after
every step), `report.json` and `report.html` in the run folder.

One step:
1. forward the next minibatch of the (seeded, shuffled) training set;
2. add its scores to the running pool; draw a few failures and a few passes;
3. backward only on the drawn failures (their traces are recomputed when they
   came from an earlier step; the reply cache makes that free);
4. for each trainable prompt with feedback, up to K optimizer proposals,
   each screened (parser, leak guard, sanity filter) before any evaluation,
   then gated on the minibatch and the validation split;
5. for each trainable demos parameter, demo-set proposals under the same gate;
6. commit the step and write the checkpoint atomically.

Budgets are checked before every phase (a phase that cannot finish is not
started) and by the client before every call; calls for the final test
evaluation are set aside at the start. Hitting a budget ends the run
cleanly: the step so far is kept, the test split is scored, the report
says which limit stopped it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from adf.llm.catalogue import context_window, honours_schema, role_model
from adf.llm.protocol import ModelClient
from adf.optim import demos as demo_opt
from adf.optim.budget import BudgetedClient, BudgetExceeded, Meter
from adf.optim.candidates import CandidatePool, values_key
from adf.optim.checkpoint import load_checkpoint, save_checkpoint
from adf.optim.gate import mean
from adf.optim.models import (
    backward_calls,
    forward_calls,
    param_token_limit,
)
from adf.optim.prompt_step import Proposer
from adf.optim.report import write_report
from adf.optim.state import TrainState
from adf.optim.step import StepRunner, score_of, scored
from adf.plan.paramvalue import ParamValue, param_value, value_to_json
from adf.plan.schema import Demo, Plan
from adf.plan.settings import TrainSettings
from adf.runtime.bindings import Bindings
from adf.runtime.data import BadRow, Sample
from adf.runtime.engine import EvalResult, ModelUnavailable, evaluate
from adf.runtime.executor import Executor

EventSink = Callable[[str, Mapping[str, Any]], None]


class TrainError(Exception):
    """Training cannot go on (model unreachable, bad checkpoint); one line for the user."""


@attrs.frozen
class Splits:
    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    test: tuple[Sample, ...]
    notes: tuple[str, ...] = ()
    bad_rows: tuple[BadRow, ...] = ()  # rows of any split that could not be used


@attrs.frozen
class TrainOutcome:
    state: TrainState
    report: dict[str, Any]
    report_json: str
    report_html: str
    stopped_by: str | None


class Trainer:
    def __init__(
        self,
        plan: Plan,
        splits: Splits,
        client: ModelClient,
        settings: TrainSettings,
        run_dir: str,
        bindings: Bindings,
        *,
        plan_hash: str,
        on_event: EventSink | None = None,
        program: Mapping[str, Any] | None = None,
        estimate: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.plan = plan
        self.executor = executor  # where forward passes over samples run (None: here)
        self.splits = splits
        self.settings = settings
        self.run_dir = run_dir
        self.bindings = bindings
        self.plan_hash = plan_hash
        self.meter = Meter(settings.limits)
        self.client = BudgetedClient(client, self.meter)
        self.on_event = on_event or (lambda kind, data: None)
        self.program = dict(program or {})
        self.estimate = dict(estimate or {})
        self.by_id = {s.id: s for s in (*splits.train, *splits.val, *splits.test)}
        self.train_by_id = {s.id: s for s in splits.train}
        self.fwd = forward_calls(plan)
        self.bwd = backward_calls(plan)
        self.optimizer_model = role_model(plan, "optimizer") or plan.models[0]
        self.backward_model = role_model(plan, "backward")
        self.teacher_model = role_model(plan, "teacher")
        node_models = {n.llm.model for n in plan.nodes if n.llm is not None}
        if self.teacher_model is not None and node_models == {self.teacher_model.name}:
            self.teacher_model = None  # the student teaching itself would replay its own calls
        self.json_mode = honours_schema(self.optimizer_model)
        self.context = context_window(self.optimizer_model)
        self.trainable = [p for p in plan.params if not p.frozen]
        self.trainable_names = tuple(p.name for p in self.trainable)
        self.limits_by_param = {
            p.name: param_token_limit(plan, p.name, p.value) for p in self.trainable
            if p.kind == "prompt"
        }
        self.proposer = Proposer(self.client, self.meter, self.optimizer_model, self.json_mode,
                                 self.context)
        self.state = TrainState()
        self.started = time.perf_counter()
        self.wall_before = 0.0
        self.call_failed = 0  # samples left unscored because a model call failed for good
        self.call_failed_counted = 0

    # --- lifecycle ------------------------------------------------------------

    def fresh_state(self) -> TrainState:
        values: dict[str, ParamValue] = {}
        kinds: dict[str, str] = {}
        for param in self.plan.params:
            values[param.name] = param_value(param)
            kinds[param.name] = param.kind
        state = TrainState(values=values, kinds=kinds,
                           initial={k: value_to_json(v) for k, v in values.items()})
        state.rng.seed(self.settings.seed)
        state.pool = attrs.evolve(state.pool, cap=self.settings.pool_cap,
                                  threshold=self.settings.threshold,
                                  partial=min(self.settings.partial_credit, self.settings.threshold))
        for param in self.trainable:
            state.history[param.name] = []
            state.tried[param.name] = []
            if param.kind == "demos":
                found = demo_opt.labeled(self.plan, param.name, self.splits.train)
                state.demo_pool[param.name] = [c.to_json() for c in found]
        return state

    def resume_state(self) -> TrainState:
        from adf.optim.checkpoint import CheckpointError

        try:
            raw = load_checkpoint(self.run_dir, self.plan_hash)
            state = TrainState.from_json(raw)
            self.meter.load_json(state.meter)
            missing = [p.name for p in self.plan.params if p.name not in state.values]
            if missing:
                raise CheckpointError(f"the checkpoint in {self.run_dir} has no value for "
                                      f"{', '.join(missing)} (start a new run)")
        except CheckpointError as exc:
            raise TrainError(str(exc)) from None
        self.wall_before = float(raw.get("wall_s", 0.0))
        state.resumes.append({"from_step": state.step, "phase": state.phase})
        if state.phase in ("final", "done") and state.step < self.settings.run_steps:
            # stopped by a budget (or asked for more steps): go on training
            state.phase, state.status = "steps", ""
            state.test_after = state.val_after = None
        return state

    def commit(self, state: TrainState) -> None:
        state.meter = self.meter.to_json()
        self.state = state
        body = state.to_json()
        body["wall_s"] = self.wall_before + time.perf_counter() - self.started
        save_checkpoint(self.run_dir, self.plan_hash, body)

    async def run(self, *, resume: bool = False) -> TrainOutcome:
        self.state = self.resume_state() if resume else self.fresh_state()
        if self.state.phase == "done":
            return self._finish(None)
        stopped: str | None = None
        test_calls = len(self.splits.test) * self.fwd
        try:
            if self.state.phase != "final":
                self.meter.hold(test_calls if self.state.test_after is None else 0)
            if self.state.phase == "setup":
                await self._setup()
            while self.state.phase == "steps" and self.state.step < self.settings.run_steps:
                await StepRunner(self).run()
        except BudgetExceeded as exc:
            stopped = str(exc)
            self.on_event("stopped", {"reason": stopped})
        except ModelUnavailable as exc:
            raise TrainError(f"the model cannot be reached: {exc.reason}") from None
        if self.state.phase == "setup":
            self.state.status = f"stopped during setup: {stopped}"
            self.commit(self.state)
            return self._finish(stopped)
        if self.state.phase == "steps":
            work = self.state.copy()
            best = work.candidates.best()
            if best is not None and work.val_score is not None and best.val > work.val_score:
                work.take(best)  # `pool`: end on the best candidate, whichever path found it
                work.count("pool_returned_to_best")
            work.phase = "final"
            work.status = f"stopped: {stopped}" if stopped else "completed"
            self.commit(work)
        self.meter.unhold()
        if self.state.phase == "final":
            await self._final()
        return self._finish(stopped)

    # --- phases -----------------------------------------------------------------

    async def forward(
        self, samples: Sequence[Sample], values: Mapping[str, ParamValue],
        plan: Plan | None = None, client: ModelClient | None = None,
    ) -> EvalResult:
        self.meter.reserve(len(samples) * self.fwd)
        try:
            result = await evaluate(plan or self.plan, samples, client or self.client,
                                    params=dict(values), bindings=self.bindings,
                                    concurrency=self.settings.concurrency,
                                    executor=self.executor)
        finally:
            self.meter.release()
        self.call_failed += len(result.call_failed())
        return result

    def count_call_failed(self, work: TrainState) -> int:
        """Samples left unscored since the last count; added to the run's counters."""
        new = self.call_failed - self.call_failed_counted
        self.call_failed_counted = self.call_failed
        if new:
            work.count("call_failed_samples", new)
        return new

    async def scores(self, samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        if not samples:
            return []
        result = await self.forward(samples, values)
        return [score_of(r) for r in scored(result.samples)]

    async def _setup(self) -> None:
        work = self.state.copy()
        val = await self.scores(self.splits.val, work.values)
        work.val_before = work.val_score = mean(val) if val else None
        for param in self.trainable:  # the optimizer sees where it started from
            if param.kind == "prompt":
                work.history[param.name] = [{"value": param.value, "val": work.val_score or 0.0,
                                             "step": 0}]
        if self.splits.test:
            test = await self.scores(self.splits.test, work.values)
            work.test_before = mean(test) if test else None
        if self.settings.strategy == "pool" and work.val_score is not None:
            work.candidates = CandidatePool(size=self.settings.candidates).add(
                values_key(work.values, self.trainable_names), work.val_score, 0)
        work.phase = "steps"
        self.count_call_failed(work)
        self.commit(work)
        self.on_event("setup", {"val": work.val_before, "test": work.test_before})

    async def _final(self) -> None:
        work = self.state.copy()
        if self.splits.test and work.test_after is None:
            try:
                test = await self.scores(self.splits.test, work.values)
                work.test_after = mean(test) if test else None
            except BudgetExceeded as exc:
                work.status += f" (test not scored: {exc})"
        work.val_after = work.val_score
        work.phase = "done"
        self.count_call_failed(work)
        self.commit(work)
        self.on_event("final", {"val": work.val_after, "test": work.test_after})

    def _finish(self, stopped: str | None) -> TrainOutcome:
        report = self.build_report()
        json_path, html_path = write_report(self.run_dir, report)
        return TrainOutcome(self.state, report, json_path, html_path, stopped)

    def build_report(self) -> dict[str, Any]:
        state = self.state
        total = self.meter.total()
        params = {}
        for param in self.trainable:
            initial: Any = state.initial.get(param.name, value_to_json(
                param_value(param)))
            params[param.name] = {"kind": param.kind, "initial": initial,
                                  "final": value_to_json(state.values[param.name])}
        estimate = dict(self.estimate)
        if estimate.get("calls"):
            estimate["actual_calls"] = total.calls
            estimate["actual_tokens"] = total.tokens
            estimate["calls_error"] = round(total.calls / estimate["calls"] - 1.0, 4)
            if estimate.get("tokens"):
                estimate["tokens_error"] = round(total.tokens / estimate["tokens"] - 1.0, 4)
        counters = dict(state.counters)
        return {
            "format": "adf-report",
            "version": 1,
            "program": self.program,
            "status": state.status or state.phase,
            "settings": {**attrs.asdict(self.settings, recurse=True),
                         "optimizer_model": self.optimizer_model.name,
                         "optimizer_json_schema": self.json_mode,
                         "optimizer_context": self.context,
                         "backward_model": self.backward_model.name if self.backward_model else None,
                         "teacher_model": self.teacher_model.name if self.teacher_model else None},
            "data": {"train": len(self.splits.train), "val": len(self.splits.val),
                     "test": len(self.splits.test), "notes": list(self.splits.notes),
                     "bad_rows": [{"where": b.where, "message": b.message}
                                  for b in self.splits.bad_rows]},
            "scores": {"val_before": state.val_before, "val_after": state.val_after
                       if state.phase == "done" else state.val_score,
                       "test_before": state.test_before, "test_after": state.test_after},
            "steps": [r.to_json() for r in state.records],
            "params": params,
            "counters": counters,
            "leaks_rejected": counters.get("rejected_leak", 0),
            "unparseable": counters.get("rejected_unparseable", 0),
            "call_failed": counters.get("call_failed_samples", 0),
            "truncated": counters.get("rejected_truncated", 0),
            "usage": {**self.meter.to_json(), **total.to_json()},
            "estimate": estimate,
            "resumes": state.resumes,
            "wall_s": round(self.wall_before + time.perf_counter() - self.started, 3),
        }


def values_changed(plan: Plan, values: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """The trainable values that differ from the plan's."""
    out: dict[str, ParamValue] = {}
    for param in plan.params:
        if param.frozen or param.name not in values:
            continue
        base: str | tuple[Demo, ...] = param_value(param)
        if values[param.name] != base:
            out[param.name] = values[param.name]
    return out
