"""The demos half of a training step: collect demo candidates, propose demo sets, gate them.

Takes the step's scored results (and a teacher's, when the program declares
one), the state being built and from the trainer a `DemoHost` (the gate and
the rejection log); gives nothing back but leaves the candidate pool in
`TrainState.demo_pool` and every proposal in the step record. A demo set is
gated on the minibatch without the samples its demos came from (validation
decides when that leaves nothing to compare), and counts as a duplicate
only once it was scored on validation against the same other values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from adf.optim import demos as demo_opt
from adf.optim.prompt_step import tried_key
from adf.optim.records import ProposalRecord, StepRecord
from adf.optim.state import TrainState
from adf.plan.paramvalue import ParamValue, value_to_json
from adf.plan.schema import ParamDecl, Plan
from adf.runtime.data import Sample
from adf.runtime.trace import SampleResult


class DemoHost(Protocol):
    def reject(self, work: TrainState, record: StepRecord, entry: ProposalRecord, kind: str,
               detail: str) -> None: ...

    async def gate_values(self, work: TrainState, changes: Mapping[str, ParamValue],
                          mini: list[Sample], mini_scores: list[float],
                          entries: Sequence[ProposalRecord]) -> list[float] | None: ...


def collect_demos(plan: Plan, params: Sequence[ParamDecl], work: TrainState,
                  results: Sequence[SampleResult], teacher: Mapping[str, SampleResult],
                  threshold: float) -> None:
    """Add the candidates found in `results` (teacher traces only, when a teacher ran)."""
    for param in params:
        if param.kind != "demos":
            continue
        found = demo_opt.collect(plan, param.name, results, teacher, threshold)
        if teacher:
            found = [c for c in found if c.source == "teacher"]
        pool = [demo_opt.DemoCandidate.from_json(c) for c in work.demo_pool.get(param.name, [])]
        merged = demo_opt.merge(pool, found)
        work.demo_pool[param.name] = [c.to_json() for c in merged]


async def propose_demos(
    host: DemoHost, work: TrainState, record: StepRecord, name: str, max_demos: int | None,
    attempts: int, mini: list[Sample], mini_scores: list[float],
) -> list[float] | None:
    """Up to `attempts` demo sets for `name`; the minibatch scores after an acceptance."""
    pool = [demo_opt.DemoCandidate.from_json(c) for c in work.demo_pool.get(name, [])]
    for attempt in range(1, attempts + 1):
        current = work.values[name]
        assert isinstance(current, tuple)
        picked = demo_opt.propose(work.rng, pool, max_demos or 3, current)
        if picked is None:
            return None
        demos, sources = picked
        entry = ProposalRecord(name, "demos", attempt, value_to_json(current),
                               value_to_json(demos), from_samples=list(sources))
        key = tried_key(work.values, name, repr(value_to_json(demos)))
        if key in work.tried.setdefault(name, []):
            host.reject(work, record, entry, "duplicate",
                        "this demo set was already scored on validation")
            continue
        used = set(sources)
        keep = [i for i, s in enumerate(mini) if s.id not in used]
        if len(mini_scores) != len(mini):  # a failed call left a sample unscored
            keep = []
        gained = await host.gate_values(work, {name: demos}, [mini[i] for i in keep],
                                        [mini_scores[i] for i in keep], [entry])
        record.proposals.append(entry)
        if gained is not None:
            return None  # scores of a minibatch without the demos' sources: not comparable
    return None
