"""What a training step leaves behind: typed step and proposal records, and their one codec.

Takes nothing; gives `ProposalRecord` (one proposal: its parameter, values
before and after, the verdict and why, what the gate saw), `StepRecord`
(one step: the batch, what was drawn, backward counts, the proposals, the
scores and usage after it) and `Candidate` (one validated set of trainable
values the `pool` strategy keeps across steps, with its validation score). The trainer builds them as values and keeps
them in `TrainState`; they become JSON only at the file boundary, through
`to_json`/`from_json` here (the checkpoint, `report.json`, progress events).
Fields left unset are left out of the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from adf.plan.paramvalue import ParamValue, value_from_json, value_to_json
from adf.plan.schema import ParamKind

Verdict = Literal["", "accepted", "rejected"]


def _json(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if value is None:
            continue
        if isinstance(value, list):
            value = [v.to_json() if hasattr(v, "to_json") else v for v in value]
        elif isinstance(value, (dict, tuple)):
            value = list(value) if isinstance(value, tuple) else dict(value)
        out[field.name] = value
    return out


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in attrs.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@attrs.define
class ProposalRecord:
    param: str
    kind: Literal["prompt", "demos"]
    attempt: int
    before: Any  # the value before, as JSON (a string, or a list of demo records)
    value: Any = None  # the proposed value, as JSON; None when the reply had none
    verdict: Verdict = ""
    rejection: str | None = None  # the rejection kind (a guard kind, "gate", "model_error"...)
    reason: str = ""
    evaluated: bool = False
    minibatch: list[float | None] | None = None  # [before, after]
    val: float | None = None
    val_evaluated: int | None = None
    stopped_early: bool | None = None
    reasoning: str | None = None
    form: str | None = None
    structured: str | None = None
    trims: list[str] | None = None
    diff: str | None = None
    from_samples: list[str] | None = None
    joint: list[str] | None = None  # the parameters gated together with this one

    def reject(self, kind: str, reason: str) -> None:
        self.verdict, self.rejection, self.reason, self.evaluated = "rejected", kind, reason, False

    def to_json(self) -> dict[str, Any]:
        return _json(self)

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> ProposalRecord:
        return ProposalRecord(**_known(ProposalRecord, data))


@attrs.define
class TrimRecord:
    param: str
    attempt: int
    trims: list[str]

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@attrs.define
class StepRecord:
    step: int
    proposals: list[ProposalRecord] = attrs.field(factory=list)
    trims: list[TrimRecord] = attrs.field(factory=list)
    batch: list[str] = attrs.field(factory=list)
    train_score: float | None = None
    errors: int = 0
    drawn_errors: list[str] = attrs.field(factory=list)
    drawn_passed: list[str] = attrs.field(factory=list)
    drawn_partial: list[str] | None = None  # drawn errors with partial credit (see sampler.py)
    backward_calls: int | None = None
    backward_failures: int | None = None
    feedback: dict[str, int] | None = None  # parameter -> feedback records
    accepted: int = 0
    rejected: int = 0
    val_score: float | None = None
    calls: int = 0  # the run's totals so far
    requests: int = 0
    retries: int = 0
    failures: int = 0
    tokens: int = 0
    cost_usd: float | None = None  # None: a model without a known price
    step_calls: int = 0
    step_tokens: int = 0
    step_wall_s: float = 0.0
    call_failed: int = 0
    stopped: str | None = None
    path_val: float | None = None  # `pool`: the path's validation score when below the best
    path: str | None = None  # `pool`: the candidate the step went back to, and why

    def to_json(self) -> dict[str, Any]:
        return _json(self)

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> StepRecord:
        known = _known(StepRecord, data)
        known["proposals"] = [ProposalRecord.from_json(p) for p in data.get("proposals", [])]
        known["trims"] = [TrimRecord(**t) for t in data.get("trims", [])]
        return StepRecord(**known)


@attrs.frozen
class Candidate:
    """A validated set of trainable values, kept across steps by the `pool` strategy."""

    values: tuple[tuple[str, ParamValue], ...]  # trainable parameter -> value, in plan order
    val: float  # its validation score (all of the split scored)
    step: int  # the step that validated it (0: the starting values)
    stalls: int = 0  # steps spent as the path without an accepted change

    def to_json(self) -> dict[str, Any]:
        return {"values": {k: value_to_json(v) for k, v in self.values}, "val": self.val,
                "step": self.step, "stalls": self.stalls}

    @staticmethod
    def from_json(data: Mapping[str, Any], kinds: Mapping[str, ParamKind]) -> Candidate:
        values = tuple((str(k), value_from_json(kinds.get(k, "prompt"), v))
                       for k, v in data["values"].items())
        return Candidate(values, float(data["val"]), int(data["step"]), int(data["stalls"]))
