"""What a run's finished steps measured: the rates the cost forecast assumes.

Takes the `StepRecord`s of a run and the validation split's size; gives
`Observed`: how many batch samples failed, how many prompt proposals passed
the cheap checks, how many gates (a joint gate of several parameters is
one) let a proposal on to validation, how
much of the validation set those were scored on, how many of them won, and
how many batch samples failed in the steps after a step that accepted a
change, and what share of the demo sets were full over the steps' forward
samples (batch, proposals' checks and validation; a demo-set proposal's
own set, or one accepted in an earlier step), each as a `Count` (part of a
whole). A count with no whole is no evidence, and the forecast keeps its
prior for it. `adfc train --resume` forecasts the rest of a run with these,
and a finished run adds them to the reply cache's history of its models
(`adf.workflow`).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from adf.optim.records import StepRecord


@attrs.frozen
class Count:
    part: int = 0
    whole: int = 0

    @property
    def share(self) -> float | None:
        return self.part / self.whole if self.whole else None


@attrs.frozen
class Observed:
    steps: int = 0
    fail_rate: Count = Count()
    screen_pass: Count = Count()
    pass_minibatch: Count = Count()
    val_share: Count = Count()
    win_share: Count = Count()
    fail_after: Count = Count()
    demo_fill: Count = Count()


def observe(records: Sequence[StepRecord], val_size: int) -> Observed:
    """The counts of the steps in `records` (a run's steps so far)."""
    proposals = [p for r in records for p in r.proposals]
    # a joint gate leaves one entry per parameter: count it once (its first parameter's),
    # and its proposals once, as they come again when each is gated alone
    prompts = [p for p in proposals if p.kind == "prompt" and not p.joint]
    checked = [p for p in proposals if p.evaluated and (not p.joint or p.param == p.joint[0])]
    validated = [p.val_evaluated for p in checked if p.val_evaluated]
    won = sum(1 for p in checked if p.val_evaluated and p.verdict == "accepted")
    after = [r for i, r in enumerate(records) if any(e.accepted for e in records[:i])]
    return Observed(
        steps=len(records),
        fail_rate=Count(sum(r.errors for r in records), sum(len(r.batch) for r in records)),
        screen_pass=Count(sum(1 for p in prompts if p.evaluated), len(prompts)),
        pass_minibatch=Count(len(validated), len(checked)),
        val_share=Count(sum(validated), len(validated) * val_size),
        win_share=Count(won, len(validated)),
        fail_after=Count(sum(r.errors for r in after), sum(len(r.batch) for r in after)),
        demo_fill=_demo_fill(records),
    )


def _demo_fill(records: Sequence[StepRecord]) -> Count:
    """The demo sets full over the steps' forward samples (a step's batch, and each gate's
    minibatch checks and validation samples), of all the sets over them: each sample counts
    its share of the run's demo sets that are full, the one definition `costflow.demo_fill`
    forecasts. A set is full in its own proposal's checks and, once accepted, in the later
    steps. A run with no demo-set proposal (a program without a demos parameter, or one
    that proposed none) is no evidence of how full another program's sets get."""
    params = {p.param for r in records for p in r.proposals if p.kind == "demos"}
    if not params:
        return Count()
    full = total = 0
    kept: set[str] = set()  # demo sets accepted in an earlier step
    for record in records:
        checked = len(record.drawn_errors) + len(record.drawn_passed)
        gates = [p for p in record.proposals if p.evaluated and (not p.joint or p.param == p.joint[0])]
        groups = [(len(record.batch), kept)] + [
            (checked + (p.val_evaluated or 0),
             kept | ({*(p.joint or (p.param,))} & params if p.kind == "demos" else set()))
            for p in gates]
        total += sum(n for n, _ in groups) * len(params)
        full += sum(n * len(sets) for n, sets in groups)
        kept |= {p.param for p in record.proposals if p.kind == "demos" and p.verdict == "accepted"}
    return Count(full, total)


def counts(seen: Observed) -> dict[str, tuple[int, int]]:
    """The counts by rate name, (part, whole): what the reply cache keeps and `History` reads."""
    return {field.name: (count.part, count.whole) for field in attrs.fields(Observed)
            if isinstance(count := getattr(seen, field.name), Count)}
