"""The prompt half of a training step: optimizer proposals for the prompts, and their gate.

Takes the step's feedback by parameter, a view of each sample it is about,
samples the current values get right, the minibatch with its scores, and
from the trainer a `StepHost` (the state being built, the gate, the optimizer
model and client); gives the minibatch scores after any accepted change,
and leaves every proposal in the step record.

- A parameter whose feedback only clears it ("not at fault") gets no
  optimizer call.
- `sequential`: each parameter in plan order gets up to `proposals`
  attempts, each gated alone, so a later parameter is proposed for against
  the values an earlier acceptance left.
- `joint`: first one usable proposal per parameter, gated together as one
  candidate (changes that help only together, across parameters and nodes);
  if that is rejected, each proposal is gated alone, then the remaining
  attempts go on sequentially.
- `pool`: within a step as `joint`, and an accepted joint change is gated
  again with each part taken back (a part that helped some samples may
  block what the others fix); across steps the trainer keeps the best
  validated candidates and goes back to one when the path stops improving
  (`candidates.py`).
Once a change is accepted, a parameter still to be proposed for gets its
feedback again on the current values (the drawn failures re-run, from the
cache where the gate already scored them; backward only on those still
failing), so it is not proposed for on advice about values that are gone;
a parameter the new feedback clears gets no call.
A proposal counts as a duplicate only when it was scored on validation
against the same values of the other parameters; one rejected on the
minibatch, or against other values, may be tried again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from adf.llm.catalogue import bound_tokens
from adf.llm.protocol import ModelClient, ModelError
from adf.llm.requests import build_request
from adf.optim.budget import Meter
from adf.optim.context import Trim
from adf.optim.guard import Rejection
from adf.optim.proposal import Proposal
from adf.optim.records import ProposalRecord, StepRecord, TrimRecord
from adf.optim.state import TrainState
from adf.optim.tgd import (
    HistoryEntry,
    OptimizerInput,
    RejectedProposal,
    SampleView,
    build_prompt,
    judge_reply,
    schema_text,
)
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import ModelDecl, Plan
from adf.plan.settings import Strategy
from adf.runtime.data import Sample
from adf.runtime.feedback import Feedback, is_cleared
from adf.runtime.template import render_param
from adf.runtime.trace import SampleResult
from adf.runtime.values import render


@attrs.frozen
class Attempt:
    """One optimizer call: a screened proposal, or why there is none."""

    proposal: Proposal | None
    rejection: Rejection | None
    trims: tuple[Trim, ...]
    structured: str = "none"
    error: str | None = None  # the call failed (or the prompt did not fit)


def view_of(result: SampleResult) -> SampleView:
    """What the optimizer is shown of a scored sample."""
    sample = result.sample
    inputs = "; ".join(f"{k}: {render(v)}" for k, v in sample.inputs)
    if result.error is not None:
        output = f"(failed: {result.error.message})"
    else:
        output = "; ".join(f"{k}: {render(v)}" for k, v in result.outputs)
    expected = "; ".join(f"{k}: {render(v)}" for k, v in sample.targets)
    score = result.score if result.score is not None else 0.0
    return SampleView(sample.id, score, inputs, output or "(none)", expected or "(none)")


def tried_key(values: Mapping[str, ParamValue], name: str, value: str) -> str:
    """A proposal in the context it was validated in: the other parameters' values."""
    others = repr(sorted((k, repr(v)) for k, v in values.items() if k != name))
    return hashlib.sha256(others.encode()).hexdigest()[:16] + "\x00" + value


def seen_values(tried: Sequence[str], values: Mapping[str, ParamValue], name: str) -> list[str]:
    prefix = tried_key(values, name, "")
    return [t[len(prefix):] for t in tried if t.startswith(prefix)]


@attrs.frozen
class Proposer:
    """Asks the optimizer model for one proposal and screens it before any evaluation."""

    client: ModelClient
    meter: Meter
    model: ModelDecl
    json_mode: bool
    context: int | None

    async def ask(self, data: OptimizerInput, seen: Sequence[str]) -> Attempt:
        room = data.max_tokens or 256
        reply_tokens = min(room, max(2 * bound_tokens(data.value), 120)) + 200
        built = build_prompt(data, context_tokens=self.context, reply_tokens=reply_tokens,
                             json_mode=self.json_mode)
        if not built.fits:
            return Attempt(None, Rejection("too_long", "the optimizer prompt does not fit the "
                                           "optimizer's context"), built.trims,
                           error="too_long_prompt")
        request = build_request(
            self.model, built.messages, node=f"optimizer:{data.name}", purpose="optimizer",
            json_schema=schema_text() if self.json_mode else None, max_tokens=reply_tokens)
        self.meter.reserve(1)
        try:
            reply = await self.client.complete(request)
        except ModelError as exc:
            return Attempt(None, None, built.trims, error=f"optimizer call failed: {exc.reason}")
        finally:
            self.meter.release()
        verdict = judge_reply(reply.text, data, seen=seen, max_tokens=data.max_tokens)
        return Attempt(verdict.proposal, verdict.rejection, built.trims, reply.structured)


@attrs.frozen
class Refreshed:
    """Feedback recomputed on changed values: by parameter, and views of the samples."""

    feedback: Mapping[str, tuple[Feedback, ...]]
    views: Mapping[str, SampleView]


class StepHost(Protocol):
    """What the prompt step needs from the trainer."""

    plan: Plan
    proposer: Proposer
    limits_by_param: dict[str, int]

    def reject(self, work: TrainState, record: StepRecord, entry: ProposalRecord, kind: str,
               detail: str) -> None: ...

    async def gate_values(self, work: TrainState, changes: Mapping[str, ParamValue],
                          mini: list[Sample], mini_scores: list[float],
                          entries: Sequence[ProposalRecord]) -> list[float] | None: ...

    async def refresh(self, work: TrainState, record: StepRecord,
                      samples: Sequence[str]) -> Refreshed: ...


@attrs.define
class PromptStep:
    host: StepHost
    work: TrainState
    record: StepRecord
    feedback: Mapping[str, tuple[Feedback, ...]]
    views: Mapping[str, SampleView]
    passing: tuple[SampleView, ...]
    mini: list[Sample]
    mini_scores: list[float]
    proposals: int = 3
    history: int = 3
    rejected: dict[str, list[RejectedProposal]] = attrs.field(factory=dict)
    failed: dict[str, list[str]] = attrs.field(factory=dict)
    attempts: dict[str, int] = attrs.field(factory=dict)
    done: set[str] = attrs.field(factory=set)  # accepted this step
    changed: bool = False  # a value changed since `feedback` was computed

    def targets(self) -> list[str]:
        """The prompt parameters with feedback that asks for a change, in plan order."""
        out = []
        for param in self.host.plan.params:
            if param.frozen or param.kind != "prompt":
                continue
            if self._asks(param.name):
                out.append(param.name)
        return out

    def _asks(self, name: str) -> bool:
        """Whether `name`'s feedback asks for a change (only "not at fault": no call)."""
        items = self.feedback.get(name)
        if not items:
            return False
        if all(is_cleared(f.text) for f in items):
            self.work.count("skipped_cleared")
            return False
        return True

    async def run(self, strategy: Strategy) -> list[float]:
        names = self.targets()
        if strategy in ("joint", "pool") and len(names) > 1:
            names = await self._joint(names, take_back=strategy == "pool")
        for name in names:
            if name in self.done:
                continue
            if self.changed:  # the feedback was given on values that have changed since
                await self._refresh()
                if not self._asks(name):
                    continue
            await self._sequential(name)
        return self.mini_scores

    async def _refresh(self) -> None:
        """Feedback again, on the current values, for the samples the step drew."""
        fresh = await self.host.refresh(self.work, self.record, list(self.views))
        self.feedback, self.views = fresh.feedback, {**self.views, **fresh.views}
        self.changed = False

    async def _joint(self, names: list[str], take_back: bool = False) -> list[str]:
        """Gate one proposal per parameter together; the names still open afterwards.

        With `take_back` (the `pool` strategy), an accepted joint change is then
        gated once more with each part taken back, and a version without a part
        that scores higher replaces it: a part that helped some samples may
        block what the other parts would fix.
        """
        found: dict[str, tuple[str, ProposalRecord]] = {}
        for name in names:
            got = await self._usable(name)
            if got is not None:
                found[name] = got
        if len(found) > 1:
            entries = [entry for _, entry in found.values()]
            for entry in entries:
                entry.joint = sorted(found)
            changes = {name: value for name, (value, _) in found.items()}
            gained = await self.host.gate_values(self.work, changes, self.mini, self.mini_scores,
                                                 entries)
            self.record.proposals.extend(entries)
            if gained is not None:
                self.mini_scores = gained
                self.done.update(found)
                self.changed = True
                if take_back:
                    await self._take_back([entry for _, entry in found.values()])
                return []
            for name, (value, entry) in found.items():
                self.rejected.setdefault(name, []).append(RejectedProposal(value, entry.reason))
            found = {k: (v, attrs.evolve(e, joint=None)) for k, (v, e) in found.items()}
        for name, (value, entry) in found.items():
            if self.work.values[name] == entry.before:
                await self._gate_one(name, value, entry)
        return names

    async def _take_back(self, entries: list[ProposalRecord]) -> None:
        for entry in entries:
            name = entry.param
            if self.work.values[name] == entry.before:
                continue
            back = ProposalRecord(name, "prompt", entry.attempt, self.work.values[name],
                                  entry.before, reasoning="the joint change without this part")
            gained = await self.host.gate_values(self.work, {name: entry.before}, self.mini,
                                                 self.mini_scores, [back])
            self.record.proposals.append(back)
            self.work.count("taken_back_tried")
            if gained is not None:
                self.mini_scores = gained
                self.work.count("taken_back")
                return

    async def _sequential(self, name: str) -> None:
        while name not in self.done and self.attempts.get(name, 0) < self.proposals:
            got = await self._usable(name)
            if got is None:
                return
            if await self._gate_one(name, *got):
                return

    async def _gate_one(self, name: str, value: str, entry: ProposalRecord) -> bool:
        entry.joint = None
        gained = await self.host.gate_values(self.work, {name: value}, self.mini,
                                             self.mini_scores, [entry])
        self.record.proposals.append(entry)
        if gained is not None:
            self.mini_scores = gained
            self.done.add(name)
            self.changed = True
            return True
        self.rejected.setdefault(name, []).append(RejectedProposal(value, entry.reason))
        return False

    async def _usable(self, name: str) -> tuple[str, ProposalRecord] | None:
        """The next screened proposal for `name` within its attempts, or None."""
        while self.attempts.get(name, 0) < self.proposals:
            attempt_no = self.attempts[name] = self.attempts.get(name, 0) + 1
            data = self._input(name)
            seen = seen_values(self.work.tried.get(name, []), self.work.values, name)
            attempt = await self.host.proposer.ask(data, seen)
            entry = ProposalRecord(name, "prompt", attempt_no, data.value,
                                   structured=attempt.structured)
            if attempt.trims:
                trims = [t.describe() for t in attempt.trims]
                entry.trims = trims
                self.record.trims.append(TrimRecord(name, attempt_no, trims))
                self.work.count("prompt_trims")
            if attempt.proposal is not None:
                entry.value = attempt.proposal.value
                entry.reasoning, entry.form = attempt.proposal.reasoning, attempt.proposal.form
            if attempt.error == "too_long_prompt":
                self.host.reject(self.work, self.record, entry, "too_long_prompt",
                                 "the optimizer prompt does not fit the optimizer's context")
                return None
            if attempt.error is not None:
                self.host.reject(self.work, self.record, entry, "model_error", attempt.error)
                self.failed.setdefault(name, []).append("the call failed")
                continue
            if attempt.rejection is not None:
                kind, detail = attempt.rejection.kind, attempt.rejection.detail
                self.host.reject(self.work, self.record, entry, kind, detail)
                if attempt.proposal is not None:
                    self.rejected.setdefault(name, []).append(
                        RejectedProposal(attempt.proposal.value, kind))
                else:
                    self.failed.setdefault(name, []).append(detail)
                continue
            assert attempt.proposal is not None
            return attempt.proposal.value, entry
        return None

    def _input(self, name: str) -> OptimizerInput:
        current = self.work.values[name]
        assert isinstance(current, str)
        feedback = tuple(f for f in self.feedback[name] if not is_cleared(f.text))
        ids = dict.fromkeys(f.sample for f in feedback)
        decl = self.host.plan.param(name)
        return OptimizerInput(
            name=name,
            description=decl.description,
            value=current,
            peers=self._prompts(name, same_node=True),
            feedback=feedback,
            history=tuple(HistoryEntry(h["value"], h["val"], h["step"])
                          for h in self.work.history.get(name, [])[-self.history:]),
            rejected=tuple(self.rejected.get(name, [])),
            steps_without_gain=self.work.steps_without_gain,
            failed_attempts=tuple(self.failed.get(name, [])),
            samples=tuple(self.views[i] for i in ids if i in self.views),
            passing=self.passing,
            others=self._prompts(name, same_node=False),
            max_tokens=self.host.limits_by_param.get(name),
        )

    def _prompts(self, name: str, *, same_node: bool) -> tuple[tuple[str, str], ...]:
        """The parameters read beside `name` (peers), or the trainable prompts elsewhere."""
        beside: list[str] = []
        for node in self.host.plan.nodes:
            if node.llm is None:
                continue
            parts = [p.param for p in node.llm.parts if p.kind == "param"]
            if name in parts:
                beside += [p for p in parts if p != name and p is not None]
        if same_node:
            chosen = list(dict.fromkeys(beside))
        else:
            chosen = [p.name for p in self.host.plan.params
                      if p.kind == "prompt" and not p.frozen and p.name != name
                      and p.name not in beside]
        out = []
        for param in chosen:
            text = render_param(self.work.values[param])
            if text.strip():
                out.append((param, text))
        return tuple(out)
