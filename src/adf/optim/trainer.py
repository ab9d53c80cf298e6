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

from adf.llm.catalogue import bound_tokens, context_window, honours_schema, role_model
from adf.llm.protocol import ModelClient, ModelError
from adf.llm.requests import build_request
from adf.optim import demos as demo_opt
from adf.optim.budget import BudgetedClient, BudgetExceeded, Limits, Meter
from adf.optim.checkpoint import load_checkpoint, save_checkpoint
from adf.optim.gate import gate, mean
from adf.optim.models import (
    RelabeledClient,
    backward_calls,
    forward_calls,
    param_token_limit,
    with_model,
)
from adf.optim.report import unified_diff, write_report
from adf.optim.state import TrainState
from adf.optim.tgd import (
    HistoryEntry,
    OptimizerInput,
    RejectedProposal,
    build_prompt,
    judge_reply,
    schema_text,
)
from adf.plan.paramvalue import ParamValue, param_value, value_to_json
from adf.plan.schema import Plan
from adf.runtime.backward import BackwardResult, backward_batch
from adf.runtime.bindings import Bindings
from adf.runtime.data import BadRow, Sample
from adf.runtime.engine import EvalResult, ModelUnavailable, evaluate
from adf.runtime.feedback import Feedback
from adf.runtime.trace import SampleResult

EventSink = Callable[[str, Mapping[str, Any]], None]


class TrainError(Exception):
    """Training cannot go on (model unreachable, bad checkpoint); one line for the user."""


@attrs.frozen
class TrainSettings:
    steps: int = 4
    batch_size: int = 4
    proposals: int = 3
    demo_proposals: int = 1
    seed: int = 0
    threshold: float = 0.9
    max_errors: int = 2
    max_passed: int = 2
    pool_cap: int = 20
    history: int = 3
    concurrency: int = 8
    val_chunk: int = 8
    accept_ties: bool = False
    backward_all: bool = False  # naive baseline: backward on every batch sample, passing or not
    limits: Limits = attrs.field(factory=Limits)


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


def _score(result: SampleResult) -> float:
    return result.score if result.score is not None else 0.0


def _scored(results: Sequence[SampleResult]) -> list[SampleResult]:
    """The results that count: a sample whose model call failed for good is left out."""
    return [r for r in results if not r.call_failed]


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
    ) -> None:
        self.plan = plan
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
        self.limits_by_param = {
            p.name: param_token_limit(plan, p.name, p.value) for p in self.trainable
            if p.kind == "prompt"
        }
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
                                  threshold=self.settings.threshold)
        for param in self.trainable:
            state.history[param.name] = []
            state.tried[param.name] = []
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
        if state.phase in ("final", "done") and state.step < self.settings.steps:
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
            while self.state.phase == "steps" and self.state.step < self.settings.steps:
                await self._step()
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
            work.phase = "final"
            work.status = f"stopped: {stopped}" if stopped else "completed"
            self.commit(work)
        self.meter.unhold()
        if self.state.phase == "final":
            await self._final()
        return self._finish(stopped)

    # --- phases -----------------------------------------------------------------

    async def _eval(
        self, samples: Sequence[Sample], values: Mapping[str, ParamValue],
        plan: Plan | None = None, client: ModelClient | None = None,
    ) -> EvalResult:
        self.meter.reserve(len(samples) * self.fwd)
        try:
            result = await evaluate(plan or self.plan, samples, client or self.client,
                                    params=dict(values), bindings=self.bindings,
                                    concurrency=self.settings.concurrency)
        finally:
            self.meter.release()
        self.call_failed += len(result.call_failed())
        return result

    def _count_call_failed(self, work: TrainState) -> int:
        """Samples left unscored since the last count; added to the run's counters."""
        new = self.call_failed - self.call_failed_counted
        self.call_failed_counted = self.call_failed
        if new:
            work.count("call_failed_samples", new)
        return new

    async def _scores(self, samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        if not samples:
            return []
        result = await self._eval(samples, values)
        return [_score(r) for r in _scored(result.samples)]

    async def _setup(self) -> None:
        work = self.state.copy()
        val = await self._scores(self.splits.val, work.values)
        work.val_before = work.val_score = mean(val) if val else None
        if self.splits.test:
            test = await self._scores(self.splits.test, work.values)
            work.test_before = mean(test) if test else None
        work.phase = "steps"
        self._count_call_failed(work)
        self.commit(work)
        self.on_event("setup", {"val": work.val_before, "test": work.test_before})

    async def _final(self) -> None:
        work = self.state.copy()
        if self.splits.test and work.test_after is None:
            try:
                test = await self._scores(self.splits.test, work.values)
                work.test_after = mean(test) if test else None
            except BudgetExceeded as exc:
                work.status += f" (test not scored: {exc})"
        work.val_after = work.val_score
        work.phase = "done"
        self._count_call_failed(work)
        self.commit(work)
        self.on_event("final", {"val": work.val_after, "test": work.test_after})

    def _next_batch(self, work: TrainState) -> list[Sample]:
        size = min(self.settings.batch_size, len(self.splits.train))
        out: list[str] = []
        while len(out) < size:
            if work.position >= len(work.order):
                order = [s.id for s in self.splits.train]
                work.rng.shuffle(order)
                work.order, work.position = order, 0
                work.epoch += 1
            ident = work.order[work.position]
            work.position += 1
            if ident not in out:
                out.append(ident)
        return [self.train_by_id[i] for i in out]

    async def _step(self) -> None:
        work = self.state.copy()
        number = work.step + 1
        began = time.perf_counter()
        calls_before = self.meter.total()
        record: dict[str, Any] = {"step": number, "proposals": [], "trims": []}
        try:
            await self._step_body(work, record)
        except BudgetExceeded as exc:
            record["stopped"] = str(exc)
            self._close_step(work, record, calls_before, began)
            raise
        self._close_step(work, record, calls_before, began)

    def _close_step(self, work: TrainState, record: dict[str, Any], before: Any,
                    began: float) -> None:
        total = self.meter.total()
        accepted = sum(1 for p in record["proposals"] if p["verdict"] == "accepted")
        record.update({
            "accepted": accepted,
            "rejected": len(record["proposals"]) - accepted,
            "val_score": work.val_score,
            "calls": total.calls,
            "requests": total.requests,
            "retries": total.retries,
            "failures": total.failures,
            "tokens": total.tokens,
            "cost_usd": total.to_json()["cost_usd"],
            "step_calls": total.calls - before.calls,
            "step_tokens": total.tokens - before.tokens,
            "step_wall_s": round(time.perf_counter() - began, 3),
            "call_failed": self._count_call_failed(work),
        })
        work.steps_without_gain = 0 if accepted else work.steps_without_gain + 1
        work.records.append(record)
        work.step += 1
        self.commit(work)
        self.on_event("step", record)

    async def _step_body(self, work: TrainState, record: dict[str, Any]) -> None:
        batch = self._next_batch(work)
        result = await self._eval(batch, work.values)
        record["batch"] = [s.id for s in batch]
        record["train_score"] = result.score
        counted = _scored(result.samples)
        work.pool = work.pool.add((r.sample.id, _score(r)) for r in counted)
        record["errors"] = sum(1 for r in counted if _score(r) < self.settings.threshold)
        errors, passed = work.pool.draw(work.rng, self.settings.max_errors, self.settings.max_passed)
        record["drawn_errors"], record["drawn_passed"] = errors, passed
        known = {r.sample.id: r for r in result.samples}
        self._collect_demos(work, list(known.values()), {})
        if not errors:
            work.count("steps_without_errors")
            if self.settings.backward_all:
                await self._backward(work, list(result.samples), 1.01)
            return
        missing = [self.by_id[i] for i in errors if i not in known]
        if missing:
            again = await self._eval(missing, work.values)
            known.update({r.sample.id: r for r in again.samples})
        failing = [known[i] for i in errors]
        walked, threshold = failing, self.settings.threshold
        if self.settings.backward_all:
            walked = failing + [r for r in result.samples if r.sample.id not in errors]
            threshold = 1.01  # every sample gets a backward pass
        grads = await self._backward(work, walked, threshold)
        record["backward_calls"] = grads.calls
        record["backward_failures"] = len(grads.failures)
        work.count("backward_failures", len(grads.failures))
        feedback = grads.by_param()
        record["feedback"] = {k: len(v) for k, v in feedback.items()}
        mini_ids = errors + passed
        mini = [self.by_id[i] for i in mini_ids]
        pool_scores = dict(work.pool.entries)
        mini_scores = [pool_scores.get(i, 0.0) for i in mini_ids]
        for param in self.trainable:
            if param.kind != "prompt" or param.name not in feedback:
                continue
            gained = await self._optimize_prompt(work, record, param.name, param.description,
                                                 feedback[param.name], mini, mini_scores)
            if gained is not None:
                mini_scores = gained
        if self.teacher_model is not None and any(p.kind == "demos" for p in self.trainable):
            teacher = await self._teach(work, failing)
            self._collect_demos(work, [], teacher, failing)
        for param in self.trainable:
            if param.kind == "demos":
                gained = await self._optimize_demos(work, record, param.name, param.max_demos,
                                                    mini, mini_scores)
                if gained is not None:
                    mini_scores = gained

    async def _backward(self, work: TrainState, results: list[SampleResult],
                        threshold: float) -> BackwardResult:
        self.meter.reserve(len(results) * self.bwd)
        try:
            return await backward_batch(
                self.plan, results, self.client, work.values, threshold=threshold,
                engine=self.backward_model, concurrency=self.settings.concurrency)
        finally:
            self.meter.release()

    # --- text proposals ------------------------------------------------------------

    async def _optimize_prompt(
        self, work: TrainState, record: dict[str, Any], name: str, description: str,
        feedback: tuple[Feedback, ...], mini: list[Sample], mini_scores: list[float],
    ) -> list[float] | None:
        rejected: list[RejectedProposal] = []
        failed: list[str] = []
        for attempt in range(1, self.settings.proposals + 1):
            current = work.values[name]
            assert isinstance(current, str)
            data = OptimizerInput(
                name=name,
                description=description,
                value=current,
                peers=self._peers(work, name),
                feedback=feedback,
                history=tuple(HistoryEntry(h["value"], h["val"], h["step"])
                              for h in work.history[name][-self.settings.history:]),
                rejected=tuple(rejected),
                steps_without_gain=work.steps_without_gain,
                failed_attempts=tuple(failed),
            )
            room = self.limits_by_param.get(name, 256)
            reply_tokens = min(room, max(3 * bound_tokens(current), 60)) + 120
            built = build_prompt(data, context_tokens=self.context, reply_tokens=reply_tokens,
                                 json_mode=self.json_mode)
            entry: dict[str, Any] = {"param": name, "kind": "prompt", "attempt": attempt,
                                     "before": current, "value": None}
            if built.trims:
                trims = [t.describe() for t in built.trims]
                entry["trims"] = trims
                record["trims"].append({"param": name, "attempt": attempt, "trims": trims})
                work.count("prompt_trims")
            if not built.fits:
                self._reject(work, record, entry, "too_long_prompt",
                             "the optimizer prompt does not fit the optimizer's context")
                return None
            request = build_request(
                self.optimizer_model, built.messages, node=f"optimizer:{name}",
                purpose="optimizer", json_schema=schema_text() if self.json_mode else None,
                max_tokens=reply_tokens,
            )
            self.meter.reserve(1)
            try:
                reply = await self.client.complete(request)
            except ModelError as exc:
                self._reject(work, record, entry, "model_error", f"optimizer call failed: {exc.reason}")
                failed.append("the call failed")
                continue
            finally:
                self.meter.release()
            verdict = judge_reply(reply.text, data, seen=work.tried[name],
                                  max_tokens=self.limits_by_param.get(name))
            if verdict.proposal is not None:
                entry["value"] = verdict.proposal.value
                entry["reasoning"] = verdict.proposal.reasoning
                entry["form"] = verdict.proposal.form
            entry["structured"] = reply.structured
            if verdict.rejection is not None:
                self._reject(work, record, entry, verdict.rejection.kind, verdict.rejection.detail)
                if verdict.proposal is not None:
                    rejected.append(RejectedProposal(verdict.proposal.value,
                                                     verdict.rejection.kind))
                else:
                    failed.append(verdict.rejection.detail)
                continue
            assert verdict.proposal is not None
            value = verdict.proposal.value
            work.tried[name] = (work.tried[name] + [value])[-50:]
            outcome = await self._gate(work, name, value, mini, mini_scores, entry)
            if outcome is not None:
                record["proposals"].append(entry)
                return outcome
            rejected.append(RejectedProposal(value, entry["reason"]))
            record["proposals"].append(entry)
        return None

    def _peers(self, work: TrainState, name: str) -> tuple[tuple[str, str], ...]:
        from adf.runtime.template import render_param

        peers: list[tuple[str, str]] = []
        seen: set[str] = set()
        for node in self.plan.nodes:
            if node.llm is None:
                continue
            parts = (*node.llm.system, *node.llm.user)
            if not any(p.kind == "param" and p.param == name for p in parts):
                continue
            for part in parts:
                if part.kind == "param" and part.param != name and part.param not in seen:
                    seen.add(part.param)
                    text = render_param(work.values[part.param])
                    if text.strip():
                        peers.append((part.param, text))
        return tuple(peers)

    def _reject(self, work: TrainState, record: dict[str, Any], entry: dict[str, Any],
                kind: str, detail: str) -> None:
        entry.update({"verdict": "rejected", "rejection": kind, "reason": detail,
                      "evaluated": False})
        work.count(f"rejected_{kind}")
        record["proposals"].append(entry)
        self.on_event("proposal", entry)

    async def _gate(
        self, work: TrainState, name: str, value: ParamValue, mini: list[Sample],
        mini_scores: list[float], entry: dict[str, Any],
    ) -> list[float] | None:
        """Gate a candidate; on acceptance update `work` and return its minibatch scores."""
        candidate = dict(work.values)
        candidate[name] = value
        seen_scores: dict[str, list[float]] = {}

        async def score(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
            got = await self._scores(samples, values)
            if samples is mini:
                seen_scores["mini"] = got
            return got

        result = await gate(score, candidate, mini, mini_scores, self.splits.val,
                            work.val_score if work.val_score is not None else 0.0,
                            chunk=self.settings.val_chunk, ties=self.settings.accept_ties)
        entry.update({
            "evaluated": True,
            "minibatch": [result.minibatch_before, result.minibatch_after],
            "val": result.val_after,
            "val_evaluated": result.val_evaluated,
            "stopped_early": result.stopped_early,
            "reason": result.reason,
        })
        if not result.accepted:
            entry["verdict"] = "rejected"
            entry["rejection"] = "gate"
            work.count("rejected_gate")
            self.on_event("proposal", entry)
            return None
        entry["verdict"] = "accepted"
        if isinstance(value, str):
            entry["diff"] = unified_diff(str(work.values[name]), value, name)
        before_val = work.val_score
        before_json = value_to_json(work.values[name])
        work.values[name] = value
        if result.val_after is not None:
            work.val_score = result.val_after
        if name in work.history:
            if not work.history[name]:
                work.history[name].append({"value": before_json,
                                           "val": before_val or 0.0, "step": work.step})
            work.history[name].append({"value": value_to_json(value),
                                       "val": work.val_score or 0.0, "step": work.step + 1})
        work.pool = work.pool.cleared()
        work.count("accepted")
        self.on_event("proposal", entry)
        return seen_scores.get("mini", list(mini_scores))

    # --- demos ---------------------------------------------------------------------

    async def _teach(self, work: TrainState, failing: list[SampleResult]) -> dict[str, SampleResult]:
        assert self.teacher_model is not None
        teacher_plan = with_model(self.plan, self.teacher_model.name)
        samples = [r.sample for r in failing]
        result = await self._eval(samples, work.values, plan=teacher_plan,
                                  client=RelabeledClient(self.client, "teacher"))
        return {r.sample.id: r for r in result.samples}

    def _collect_demos(self, work: TrainState, results: list[SampleResult],
                       teacher: Mapping[str, SampleResult],
                       failing: list[SampleResult] | None = None) -> None:
        for param in self.trainable:
            if param.kind != "demos":
                continue
            found = demo_opt.collect(self.plan, param.name, failing or results, teacher,
                                     self.settings.threshold)
            if teacher:
                found = [c for c in found if c.source == "teacher"]
            pool = [demo_opt.DemoCandidate.from_json(c) for c in work.demo_pool.get(param.name, [])]
            merged = demo_opt.merge(pool, found)
            work.demo_pool[param.name] = [c.to_json() for c in merged]

    async def _optimize_demos(
        self, work: TrainState, record: dict[str, Any], name: str, max_demos: int | None,
        mini: list[Sample], mini_scores: list[float],
    ) -> list[float] | None:
        pool = [demo_opt.DemoCandidate.from_json(c) for c in work.demo_pool.get(name, [])]
        for attempt in range(1, self.settings.demo_proposals + 1):
            current = work.values[name]
            assert isinstance(current, tuple)
            picked = demo_opt.propose(work.rng, pool, max_demos or 3, current)
            entry: dict[str, Any] = {"param": name, "kind": "demos", "attempt": attempt,
                                     "before": value_to_json(current), "value": None}
            if picked is None:
                return None
            demos, sources = picked
            entry["value"] = value_to_json(demos)
            entry["from_samples"] = list(sources)
            key = repr(value_to_json(demos))
            if key in work.tried.setdefault(name, []):
                self._reject(work, record, entry, "duplicate", "this demo set was already tried")
                continue
            work.tried[name] = (work.tried[name] + [key])[-50:]
            used = set(sources)
            keep = [i for i, s in enumerate(mini) if s.id not in used]
            outcome = await self._gate(work, name, demos, [mini[i] for i in keep],
                                       [mini_scores[i] for i in keep], entry)
            record["proposals"].append(entry)
            if outcome is not None:
                return None
        return None

    # --- report --------------------------------------------------------------------

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
            "steps": state.records,
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
        base = param_value(param)
        if values[param.name] != base:
            out[param.name] = values[param.name]
    return out
