"""The running pool of scored training samples that each step draws from.

Takes sample ids with their latest scores and a seeded `random.Random`;
gives the step's draw: a few samples that failed (they get backward calls)
and a few that passed (they keep a proposal from breaking what works).
A score at or above `threshold` passes; one below `partial` is a failure;
one in between has partial credit (an F1 of 0.7, say): it is still worth
improving, but it fills the failures' places only when there are fewer
failures than the draw asks for, so a pool of near-misses does not crowd
out the samples the workflow gets wholly wrong. The
pool persists across steps until a proposal is accepted, is capped in size
(the oldest passing samples leave first while more than `keep_passed`
remain, then the oldest failures), and is a frozen value: every change returns a new pool, which the
trainer stores in its checkpoint as plain JSON.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import attrs

from adf.plan.gaterules import failures_drawn, passes_drawn


@attrs.frozen
class Pool:
    entries: tuple[tuple[str, float], ...] = ()  # (sample id, score), oldest first
    cap: int = 20
    keep_passed: int = 2
    threshold: float = 0.9  # a score below this is an error
    partial: float = 0.5  # a score from this up to `threshold` has partial credit

    def errors(self) -> list[tuple[str, float]]:
        return [e for e in self.entries if e[1] < self.threshold]

    def passed(self) -> list[tuple[str, float]]:
        return [e for e in self.entries if e[1] >= self.threshold]

    def add(self, scored: Iterable[tuple[str, float]]) -> Pool:
        entries = list(self.entries)
        for sample, score in scored:
            entries = [e for e in entries if e[0] != sample]
            entries.append((sample, float(score)))
        while len(entries) > self.cap:
            victim = self._victim(entries)
            entries.pop(victim)
        return attrs.evolve(self, entries=tuple(entries))

    def _victim(self, entries: list[tuple[str, float]]) -> int:
        passing = [i for i, (_, score) in enumerate(entries) if score >= self.threshold]
        failing = [i for i, (_, score) in enumerate(entries) if score < self.threshold]
        if len(passing) > self.keep_passed or not failing:
            return passing[0]
        return failing[0]

    def cleared(self) -> Pool:
        return attrs.evolve(self, entries=())

    def draw(
        self, rng: random.Random, max_errors: int, max_passed: int
    ) -> tuple[list[str], list[str]]:
        """Up to `max_errors` failed ids (worst first; partial credit only to fill up)
        and the passing ids drawn with them (`adf.plan.gaterules`: up to `max_passed`,
        at most two per failure)."""
        errors = [e for e in self.errors() if e[1] < self.partial]
        chosen = rng.sample(errors, failures_drawn(len(errors), max_errors)) if errors else []
        partial = [e for e in self.errors() if e[1] >= self.partial]
        if partial and len(chosen) < max_errors:
            chosen += rng.sample(partial, failures_drawn(len(partial), max_errors - len(chosen)))
        chosen.sort(key=lambda e: (e[1], e[0]))
        passed = self.passed()
        want = passes_drawn(len(chosen), len(passed), max_passed)
        good = rng.sample(passed, want) if want else []
        return [e[0] for e in chosen], [e[0] for e in good]

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": [[s, v] for s, v in self.entries],
            "cap": self.cap,
            "keep_passed": self.keep_passed,
            "threshold": self.threshold,
            "partial": self.partial,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Pool:
        return Pool(
            entries=tuple((str(s), float(v)) for s, v in data["entries"]),
            cap=int(data["cap"]),
            keep_passed=int(data["keep_passed"]),
            threshold=float(data["threshold"]),
            partial=float(data.get("partial", data["threshold"])),
        )
