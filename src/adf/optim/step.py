"""One training step: a batch forward, the draw, selective backward, proposals, the gate.

Takes the `Trainer` (its state, clients, meter, splits and settings); gives
nothing back but commits the next `TrainState` with the step's
`StepRecord`. The step works on a copy of the state, so a checkpoint never
holds half a step; a budget that runs out mid-step keeps what the step did
so far and ends the run. `StepRunner` is also the host that `PromptStep`
and the demo step call back into: `reject` logs a proposal refused before
any evaluation, `gate_values` scores changed values on the minibatch and
the validation split and applies them when they win.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adf.optim.budget import BudgetExceeded
from adf.optim.candidates import values_key
from adf.optim.demo_step import collect_demos, propose_demos
from adf.optim.gate import gate
from adf.optim.models import FEEDBACK_KINDS, RelabeledClient, with_model
from adf.optim.prompt_step import PromptStep, Refreshed, tried_key, view_of
from adf.optim.records import ProposalRecord, StepRecord
from adf.optim.report import unified_diff
from adf.optim.state import TrainState
from adf.plan.paramvalue import ParamValue, value_to_json
from adf.runtime.backward import BackwardResult, backward_batch
from adf.runtime.data import Sample
from adf.runtime.trace import SampleResult

if TYPE_CHECKING:
    from adf.optim.trainer import Trainer


def score_of(result: SampleResult) -> float:
    return result.score if result.score is not None else 0.0


def scored(results: Sequence[SampleResult]) -> list[SampleResult]:
    """The results that count: a sample whose model call failed for good is left out."""
    return [r for r in results if not r.call_failed]


class StepRunner:
    def __init__(self, trainer: Trainer) -> None:
        self.t = trainer
        self.plan = trainer.plan
        self.settings = trainer.settings
        self.proposer = trainer.proposer
        self.limits_by_param = trainer.limits_by_param

    def _next_batch(self, work: TrainState) -> list[Sample]:
        size = min(self.settings.batch_size, len(self.t.splits.train))
        out: list[str] = []
        while len(out) < size:
            if work.position >= len(work.order):
                order = [s.id for s in self.t.splits.train]
                work.rng.shuffle(order)
                work.order, work.position = order, 0
                work.epoch += 1
            ident = work.order[work.position]
            work.position += 1
            if ident not in out:
                out.append(ident)
        return [self.t.train_by_id[i] for i in out]

    async def run(self) -> None:
        work = self.t.state.copy()
        number = work.step + 1
        began = time.perf_counter()
        calls_before = self.t.meter.total()
        record = StepRecord(number)
        if self.settings.strategy == "pool":
            self._choose_path(work, record)
        try:
            await self._step_body(work, record)
        except BudgetExceeded as exc:
            record.stopped = str(exc)
            self._close_step(work, record, calls_before, began)
            raise
        self._close_step(work, record, calls_before, began)

    def _close_step(self, work: TrainState, record: StepRecord, before: Any,
                    began: float) -> None:
        total = self.t.meter.total()
        accepted = sum(1 for p in record.proposals if p.verdict == "accepted")
        record.accepted, record.rejected = accepted, len(record.proposals) - accepted
        record.val_score = work.val_score
        best = work.candidates.best()
        if self.settings.strategy == "pool" and best is not None:
            if not accepted:
                work.candidates = work.candidates.stalled(self._key(work.values))
            if work.val_score is not None and best.val > work.val_score:
                record.val_score, record.path_val = best.val, work.val_score
        record.calls, record.tokens = total.calls, total.tokens
        record.requests, record.retries = total.requests, total.retries
        record.failures = total.failures
        record.cost_usd = total.to_json()["cost_usd"]
        record.step_calls = total.calls - before.calls
        record.step_tokens = total.tokens - before.tokens
        record.step_wall_s = round(time.perf_counter() - began, 3)
        record.call_failed = self.t.count_call_failed(work)
        work.steps_without_gain = 0 if accepted else work.steps_without_gain + 1
        work.records.append(record)
        work.step += 1
        self.t.commit(work)
        self.t.on_event("step", record.to_json())

    def _key(self, values: Mapping[str, ParamValue]) -> tuple[tuple[str, ParamValue], ...]:
        return values_key(values, self.t.trainable_names)

    def _choose_path(self, work: TrainState, record: StepRecord) -> None:
        """`pool`: go back to another kept candidate once the path has stalled long enough."""
        key = self._key(work.values)
        current = work.candidates.find(key)
        target = work.candidates.next_path(key, self.settings.patience)
        if target is None:
            return
        stalls = current.stalls if current is not None else 0
        record.path = (f"went back to the candidate of step {target.step} (val "
                       f"{target.val:.3f}) after {stalls} steps without a gain")
        work.take(target)
        work.count("pool_path_changes")

    async def _step_body(self, work: TrainState, record: StepRecord) -> None:
        batch = self._next_batch(work)
        result = await self.t.forward(batch, work.values)
        record.batch = [s.id for s in batch]
        record.train_score = result.score
        known = {r.sample.id: r for r in scored(result.samples)}
        work.pool = work.pool.add((r.sample.id, score_of(r)) for r in known.values())
        for _ in range(self.settings.fill_batches):  # an all-correct batch: look further
            if work.pool.errors():
                break
            more = await self.t.forward(self._next_batch(work), work.values)
            counted = scored(more.samples)
            known.update({r.sample.id: r for r in counted})
            work.pool = work.pool.add((r.sample.id, score_of(r)) for r in counted)
            record.batch += [r.sample.id for r in more.samples]
            work.count("fill_batches")
        record.errors = sum(1 for r in known.values() if score_of(r) < self.settings.threshold)
        errors, passed = work.pool.draw(work.rng, self.settings.max_errors, self.settings.max_passed)
        record.drawn_errors, record.drawn_passed = errors, passed
        pool_scores = dict(work.pool.entries)
        record.drawn_partial = [i for i in errors if pool_scores[i] >= work.pool.partial] or None
        collect_demos(self.plan, self.t.trainable, work, list(known.values()), {},
                      self.settings.threshold)
        mini_ids = errors + passed
        mini = [self.t.by_id[i] for i in mini_ids]
        mini_scores = [pool_scores.get(i, 0.0) for i in mini_ids]
        failing: list[SampleResult] = []
        if not errors:
            work.count("steps_without_errors")
            if self.settings.backward_all:
                await self._backward(work, list(result.samples), 1.01)
        else:
            missing = [self.t.by_id[i] for i in errors if i not in known]
            if missing:
                again = await self.t.forward(missing, work.values)
                known.update({r.sample.id: r for r in again.samples})
            failing = [known[i] for i in errors]
            if self.settings.proposals > 0 and any(p.kind == "prompt" for p in self.t.trainable):
                mini_scores = await self._prompts(work, record, failing, known, passed, mini,
                                                  mini_scores, result.samples)
            else:  # no prompt can change: feedback would be asked for and never read
                work.count("backward_skipped")
        if self.t.teacher_model is not None and failing and any(
                p.kind == "demos" for p in self.t.trainable):
            teacher = await self._teach(work, failing)
            collect_demos(self.plan, self.t.trainable, work, failing, teacher,
                          self.settings.threshold)
        for param in self.t.trainable:
            if param.kind == "demos":
                gained = await propose_demos(self, work, record, param.name, param.max_demos,
                                             self.settings.demo_proposals, mini, mini_scores)
                if gained is not None:
                    mini_scores = gained

    async def _prompts(
        self, work: TrainState, record: StepRecord, failing: list[SampleResult],
        known: Mapping[str, SampleResult], passed: list[str], mini: list[Sample],
        mini_scores: list[float], batch: Sequence[SampleResult],
    ) -> list[float]:
        walked, threshold = failing, self.settings.threshold
        if self.settings.backward_all:
            drawn = {r.sample.id for r in failing}
            walked = failing + [r for r in batch if r.sample.id not in drawn]
            threshold = 1.01  # every sample gets a backward pass
        grads = await self._backward(work, walked, threshold)
        record.backward_calls = grads.calls
        record.backward_failures = len(grads.failures)
        work.count("backward_failures", len(grads.failures))
        feedback = grads.by_param()
        record.feedback = {k: len(v) for k, v in feedback.items()}
        shown = [i for i in passed if i in known]
        shown += [i for i, r in known.items()
                  if i not in shown and score_of(r) >= self.settings.threshold][:2 - len(shown)]
        step = PromptStep(
            self, work, record, feedback, {r.sample.id: view_of(r) for r in failing},
            tuple(view_of(known[i]) for i in shown), mini, mini_scores,
            proposals=self.settings.proposals, history=self.settings.history)
        return await step.run(self.settings.strategy)

    async def _backward(self, work: TrainState, results: list[SampleResult],
                        threshold: float) -> BackwardResult:
        self.t.meter.reserve(len(results) * self.t.bwd)
        try:
            return await backward_batch(
                self.plan, results, self.t.client, work.values, threshold=threshold,
                engine=self.t.backward_model, concurrency=self.settings.concurrency,
                kinds=FEEDBACK_KINDS)
        finally:
            self.t.meter.release()

    async def refresh(self, work: TrainState, record: StepRecord,
                      samples: Sequence[str]) -> Refreshed:
        """Feedback on the current values for `samples` (after an accepted change)."""
        result = await self.t.forward([self.t.by_id[i] for i in samples], work.values)
        failing = [r for r in scored(result.samples) if score_of(r) < self.settings.threshold]
        grads = await self._backward(work, failing, self.settings.threshold)
        record.backward_calls = (record.backward_calls or 0) + grads.calls
        record.backward_failures = (record.backward_failures or 0) + len(grads.failures)
        work.count("feedback_recomputed")
        return Refreshed(grads.by_param(), {r.sample.id: view_of(r) for r in failing})

    # --- the gate --------------------------------------------------------------------

    def reject(self, work: TrainState, record: StepRecord, entry: ProposalRecord,
               kind: str, detail: str) -> None:
        entry.reject(kind, detail)
        work.count(f"rejected_{kind}")
        record.proposals.append(entry)
        self.t.on_event("proposal", entry.to_json())

    async def gate_values(
        self, work: TrainState, changes: Mapping[str, ParamValue], mini: list[Sample],
        mini_scores: list[float], entries: Sequence[ProposalRecord],
    ) -> list[float] | None:
        """Gate changed values; on acceptance update `work` and return their minibatch scores."""
        candidate = {**work.values, **changes}
        seen_scores: dict[str, list[float]] = {}

        async def score(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
            got = await self.t.scores(samples, values)
            if samples is mini:
                seen_scores["mini"] = got
            return got

        result = await gate(score, candidate, mini, mini_scores, self.t.splits.val,
                            work.val_score if work.val_score is not None else 0.0,
                            chunk=self.settings.val_chunk, ties=self.settings.accept_ties,
                            minibatch_strict=self.settings.minibatch_strict)
        for entry in entries:
            entry.evaluated, entry.reason = True, result.reason
            entry.minibatch = [result.minibatch_before, result.minibatch_after]
            entry.val, entry.val_evaluated = result.val_after, result.val_evaluated
            entry.stopped_early = result.stopped_early
            entry.verdict = "accepted" if result.accepted else "rejected"
        if (self.settings.strategy == "pool" and result.val_after is not None
                and not result.stopped_early):  # scored on the whole split: keep it
            path = work.candidates.find(self._key(work.values))
            tied = (not result.accepted and path is not None
                    and result.val_after >= (work.val_score or 0.0))
            work.candidates = work.candidates.add(self._key(candidate), result.val_after,
                                                  work.step + 1,
                                                  path.stalls + 1 if tied and path else 0)
        if result.val_evaluated:  # validated against these values: a repeat would be a duplicate
            for name, value in changes.items():
                key = tried_key(work.values, name, str(value) if isinstance(value, str)
                                else repr(value_to_json(value)))
                work.tried[name] = ([*work.tried.get(name, []), key])[-50:]
        if not result.accepted:
            for entry in entries:
                entry.rejection = "gate"
                work.count("rejected_gate")
                self.t.on_event("proposal", entry.to_json())
            return None
        before_val = work.val_score
        for entry, (name, value) in zip(entries, changes.items(), strict=True):
            if isinstance(value, str):
                entry.diff = unified_diff(str(work.values[name]), value, name)
            if name in work.history and not work.history[name]:
                work.history[name].append({"value": value_to_json(work.values[name]),
                                           "val": before_val or 0.0, "step": work.step})
        work.values.update(changes)
        if result.val_after is not None:
            work.val_score = result.val_after
        for entry, (name, value) in zip(entries, changes.items(), strict=True):
            if name in work.history:
                work.history[name].append({"value": value_to_json(value),
                                           "val": work.val_score or 0.0, "step": work.step + 1})
            work.count("accepted")
            self.t.on_event("proposal", entry.to_json())
        work.pool = work.pool.cleared()
        return seen_scores.get("mini", list(mini_scores))

    # --- demos ---------------------------------------------------------------------

    async def _teach(self, work: TrainState, failing: list[SampleResult]) -> dict[str, SampleResult]:
        assert self.t.teacher_model is not None
        teacher_plan = with_model(self.plan, self.t.teacher_model.name)
        samples = [r.sample for r in failing]
        result = await self.t.forward(samples, work.values, plan=teacher_plan,
                                  client=RelabeledClient(self.t.client, "teacher"))
        return {r.sample.id: r for r in result.samples}

    # --- report --------------------------------------------------------------------
