"""The `pool` strategy's memory: the best validated candidates, kept across steps.

Takes sets of trainable values with the validation score they earned (the
starting values, every accepted change, and every rejected proposal whose
validation ran to the end); gives `CandidatePool`, a frozen value holding
the `size` best of them (`Candidate` records, best first), which says which
candidate to go back to when the path being trained stops improving, and
which is the best at the end of the run.

The path is the set of values the steps propose from (the trainer's
current values). It starts at the best member; a step without an accepted
change adds a stall to the path's member, and once it has `patience`
stalls the next step moves the path to the best other member that has
fewer (an earlier value, or a proposal that tied; a tie starts with the
stalls of the path it tied, being on the same plateau), so a run is not
stuck on one greedy line. The starting values always keep a place: from any
dead end there is a way back to where the run began. The gate compares a proposal with the path's score;
the run ends on the best member, whichever path found it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from adf.optim.records import Candidate
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import ParamKind


def values_key(values: Mapping[str, ParamValue],
               names: tuple[str, ...]) -> tuple[tuple[str, ParamValue], ...]:
    """The trainable values, in `names` order: what identifies a candidate."""
    return tuple((name, values[name]) for name in names if name in values)


@attrs.frozen
class CandidatePool:
    members: tuple[Candidate, ...] = ()  # best first
    size: int = 4

    def add(self, values: tuple[tuple[str, ParamValue], ...], val: float,
            step: int, stalls: int = 0) -> CandidatePool:
        """The pool with this candidate in it (a repeat keeps its best score and its stalls).

        `stalls`: a proposal that only tied the path it came from is on the same
        plateau, and starts with the path's stalls rather than as a fresh hope."""
        same = [m for m in self.members if m.values == values]
        if same:
            kept = attrs.evolve(same[0], val=max(val, same[0].val))
            rest = [m for m in self.members if m.values != values]
        else:
            kept, rest = Candidate(values, val, step, stalls), list(self.members)
        ranked = sorted([*rest, kept], key=lambda m: (-m.val, m.stalls, m.step))
        size = max(1, self.size)
        start = [m for m in ranked[size:] if m.step == 0]
        if start and size > 1:  # the starting values stay: the way back from any dead end
            ranked = [*ranked[:size - 1], start[0]]
        return attrs.evolve(self, members=tuple(ranked[:size]))

    def find(self, values: tuple[tuple[str, ParamValue], ...]) -> Candidate | None:
        return next((m for m in self.members if m.values == values), None)

    def stalled(self, values: tuple[tuple[str, ParamValue], ...]) -> CandidatePool:
        """One more step without a gain for the member holding `values`."""
        return attrs.evolve(self, members=tuple(
            attrs.evolve(m, stalls=m.stalls + 1) if m.values == values else m
            for m in self.members))

    def best(self) -> Candidate | None:
        return self.members[0] if self.members else None

    def next_path(self, values: tuple[tuple[str, ParamValue], ...],
                  patience: int) -> Candidate | None:
        """Where to go on from: None to stay on `values`, else the member to return to."""
        current = self.find(values)
        if current is not None and current.stalls < patience:
            return None
        fresh = [m for m in self.members if m.values != values and m.stalls < patience]
        return fresh[0] if fresh else None

    def to_json(self) -> dict[str, Any]:
        return {"members": [m.to_json() for m in self.members], "size": self.size}

    @staticmethod
    def from_json(data: Mapping[str, Any], kinds: Mapping[str, ParamKind]) -> CandidatePool:
        return CandidatePool(tuple(Candidate.from_json(m, kinds) for m in data["members"]),
                             int(data["size"]))
