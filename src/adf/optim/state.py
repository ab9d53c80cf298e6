"""Everything a training run needs to continue exactly where it stopped.

Takes nothing; gives `TrainState`, the trainer's complete state as one
value that round-trips through JSON: the step reached, current parameter
values, the validation score they earned, per-parameter history and tried
values, the sampler pool, demo candidates, the `pool` strategy's kept
candidates, the random generator, the epoch
order over the training set, the budget counters and the per-step records
the report is built from. A step works on a copy and the copy replaces the
state only when the step is over, so a checkpoint never holds half a step.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import attrs

from adf.optim.candidates import CandidatePool
from adf.optim.checkpoint import rng_from_json, rng_to_json
from adf.optim.records import Candidate, StepRecord
from adf.optim.sampler import Pool
from adf.plan.paramvalue import ParamValue, value_from_json, value_to_json
from adf.plan.schema import ParamKind


@attrs.define
class TrainState:
    step: int = 0  # steps completed
    phase: str = "setup"  # setup | steps | final | done
    values: dict[str, ParamValue] = attrs.field(factory=dict)
    kinds: dict[str, str] = attrs.field(factory=dict)
    val_score: float | None = None
    val_before: float | None = None
    test_before: float | None = None
    test_after: float | None = None
    val_after: float | None = None
    history: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    tried: dict[str, list[str]] = attrs.field(factory=dict)
    pool: Pool = attrs.field(factory=Pool)
    demo_pool: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    rng: random.Random = attrs.field(factory=random.Random)
    order: list[str] = attrs.field(factory=list)
    position: int = 0
    epoch: int = 0
    steps_without_gain: int = 0
    meter: dict[str, Any] = attrs.field(factory=dict)
    records: list[StepRecord] = attrs.field(factory=list)
    counters: dict[str, int] = attrs.field(factory=dict)
    status: str = ""
    resumes: list[dict[str, Any]] = attrs.field(factory=list)
    initial: dict[str, Any] = attrs.field(factory=dict)  # starting values, as JSON
    candidates: CandidatePool = attrs.field(factory=CandidatePool)  # `pool` strategy only

    def take(self, candidate: Candidate) -> None:
        """Go on from a kept candidate: its values and score; samples scored before are dropped."""
        self.values.update(candidate.values)
        self.val_score = candidate.val
        self.pool = self.pool.cleared()
        self.steps_without_gain = 0

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + amount

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "phase": self.phase,
            "values": {k: value_to_json(v) for k, v in self.values.items()},
            "kinds": dict(self.kinds),
            "val_score": self.val_score,
            "val_before": self.val_before,
            "test_before": self.test_before,
            "test_after": self.test_after,
            "val_after": self.val_after,
            "history": copy.deepcopy(self.history),
            "tried": copy.deepcopy(self.tried),
            "pool": self.pool.to_json(),
            "demo_pool": copy.deepcopy(self.demo_pool),
            "rng": rng_to_json(self.rng),
            "order": list(self.order),
            "position": self.position,
            "epoch": self.epoch,
            "steps_without_gain": self.steps_without_gain,
            "meter": copy.deepcopy(self.meter),
            "records": [r.to_json() for r in self.records],
            "counters": dict(self.counters),
            "status": self.status,
            "resumes": copy.deepcopy(self.resumes),
            "initial": copy.deepcopy(self.initial),
            "candidates": self.candidates.to_json(),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> TrainState:
        kinds = {str(k): str(v) for k, v in data["kinds"].items()}
        kind_of: dict[str, ParamKind] = {
            k: "prompt" if v == "prompt" else "demos" for k, v in kinds.items()}
        values: dict[str, ParamValue] = {}
        for name, raw in data["values"].items():
            values[name] = value_from_json(kind_of.get(name, "demos"), raw)
        return TrainState(
            step=int(data["step"]),
            phase=str(data["phase"]),
            values=values,
            kinds=kinds,
            val_score=data["val_score"],
            val_before=data["val_before"],
            test_before=data["test_before"],
            test_after=data["test_after"],
            val_after=data.get("val_after"),
            history=copy.deepcopy(data["history"]),
            tried=copy.deepcopy(data["tried"]),
            pool=Pool.from_json(data["pool"]),
            demo_pool=copy.deepcopy(data["demo_pool"]),
            rng=rng_from_json(data["rng"]),
            order=[str(x) for x in data["order"]],
            position=int(data["position"]),
            epoch=int(data["epoch"]),
            steps_without_gain=int(data["steps_without_gain"]),
            meter=copy.deepcopy(data["meter"]),
            records=[StepRecord.from_json(r) for r in data["records"]],
            counters={str(k): int(v) for k, v in data["counters"].items()},
            status=str(data["status"]),
            resumes=copy.deepcopy(data.get("resumes", [])),
            initial=copy.deepcopy(data.get("initial", {})),
            candidates=CandidatePool.from_json(data["candidates"], kind_of)
            if "candidates" in data else CandidatePool(),
        )

    def copy(self) -> TrainState:
        return TrainState.from_json(self.to_json())
