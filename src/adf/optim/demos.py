"""The demo optimizer: few-shot examples bootstrapped from traces.

Takes a `demos` parameter, forward results of the student (and, where the
program declares a teacher, of the same samples run with the teacher model)
and a seeded `random.Random`; gives demo candidates with weights and a
proposed demo set for the validation gate.

Where candidates come from, and their weights:
- a sample the student got wrong but the teacher got right: the teacher's
  trace at the node that reads the parameter (inputs and the full reply,
  reasoning included), weight teacher score - student score;
- a sample the student got wrong with a plain node input: the labelled
  answer, weight 1 - student score;
- any training sample with a plain node input, before it is run: the
  labelled answer, weight 0.5 (`labeled`: the raw examples of labelled
  few-shot prompting, available from the first step);
- a sample the student got right: its own trace, weight 0.25 (an easy
  example the student already solves teaches it least); the full reply, or
  the parsed value where the reply was a schema-constrained JSON wrapper.
A proposal draws `max_demos` candidates by weighted sampling without
replacement (Efraimidis-Spirakis keys), so better evidence is likelier but
every candidate can be tried.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from adf.plan.schema import Demo, Node, Plan
from adf.runtime.data import Sample
from adf.runtime.trace import SampleResult
from adf.runtime.values import render

Source = Literal["trace", "teacher", "label"]


@attrs.frozen
class DemoCandidate:
    sample: str
    demo: Demo
    weight: float
    source: Source

    def to_json(self) -> dict[str, Any]:
        return {"sample": self.sample, "fields": dict(self.demo.fields),
                "weight": self.weight, "source": self.source}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> DemoCandidate:
        source = str(data["source"])
        assert source in ("trace", "teacher", "label")
        return DemoCandidate(str(data["sample"]), Demo(tuple(dict(data["fields"]).items())),
                             float(data["weight"]), source)  # type: ignore[arg-type]


def reading_nodes(plan: Plan, param: str) -> list[Node]:
    """The llm nodes whose prompt includes `param`, in plan order."""
    out = []
    for node in plan.nodes:
        if node.llm is None:
            continue
        if any(p.kind == "param" and p.param == param for p in node.llm.parts):
            out.append(node)
    return out


def _trace_demo(plan: Plan, param: str, result: SampleResult) -> Demo | None:
    for node in reading_nodes(plan, param):
        trace = result.node(node.id)
        if trace.status == "ok" and trace.raw and trace.raw.strip():
            fields = [(name, render(value)) for name, value in trace.inputs]
            # the whole reply, reasoning included; a reply that followed a JSON schema is
            # only the typed value's wrapper ({"answer": ...}): the demo shows the value
            answer = render(trace.value) if trace.reply_mode == "schema" else trace.raw.strip()
            fields.append(("answer", answer))
            return Demo(tuple(fields))
    return None


def _label_demo(plan: Plan, param: str, sample: Sample) -> Demo | None:
    nodes = reading_nodes(plan, param)
    if not nodes:
        return None
    node = nodes[0]
    known = sample.values()
    if not all(b.source in known for b in node.inputs):
        return None
    targets = dict(sample.targets)
    target = next((targets[loss.target] for loss in plan.losses if loss.target in targets), None)
    if target is None:
        return None
    fields = [(b.name, render(known[b.source])) for b in node.inputs]
    fields.append(("answer", render(target)))
    return Demo(tuple(fields))


def collect(
    plan: Plan,
    param: str,
    student: Sequence[SampleResult],
    teacher: Mapping[str, SampleResult],
    threshold: float,
) -> list[DemoCandidate]:
    out: list[DemoCandidate] = []
    for result in student:
        if result.call_failed:
            continue  # no prediction was made: nothing to learn from
        score = result.score if result.score is not None else 0.0
        sample = result.sample.id
        if score >= threshold:
            demo = _trace_demo(plan, param, result)
            if demo is not None:
                out.append(DemoCandidate(sample, demo, 0.25, "trace"))
            continue
        taught = teacher.get(sample)
        if taught is not None and (taught.score or 0.0) >= threshold:
            demo = _trace_demo(plan, param, taught)
            gain = (taught.score or 0.0) - score
            if demo is not None and gain > 0:
                out.append(DemoCandidate(sample, demo, gain, "teacher"))
                continue
        demo = _label_demo(plan, param, result.sample)
        if demo is not None and score < 1.0:
            out.append(DemoCandidate(sample, demo, 1.0 - score, "label"))
    return out


def labeled(plan: Plan, param: str, samples: Sequence[Sample]) -> list[DemoCandidate]:
    """Label demos straight from training samples, before any of them is run."""
    out = []
    for sample in samples:
        demo = _label_demo(plan, param, sample)
        if demo is not None:
            out.append(DemoCandidate(sample.id, demo, 0.5, "label"))
    return out


def merge(
    pool: Sequence[DemoCandidate], new: Sequence[DemoCandidate], cap: int = 50
) -> list[DemoCandidate]:
    """Latest candidate per sample wins; oldest leave first beyond `cap`."""
    by_sample: dict[str, DemoCandidate] = {c.sample: c for c in pool}
    for candidate in new:
        by_sample.pop(candidate.sample, None)
        by_sample[candidate.sample] = candidate
    items = list(by_sample.values())
    return items[-cap:]


def propose(
    rng: random.Random,
    pool: Sequence[DemoCandidate],
    size: int,
    current: tuple[Demo, ...],
    tries: int = 4,
) -> tuple[tuple[Demo, ...], tuple[str, ...]] | None:
    """A demo set different from `current` and the samples it came from, or None."""
    usable = [c for c in pool if c.weight > 0]
    if not usable or size <= 0:
        return None
    for _ in range(tries):
        keyed = sorted(
            usable,
            key=lambda c: math.log(max(rng.random(), 1e-12)) / c.weight,
            reverse=True,
        )
        chosen = keyed[: min(size, len(keyed))]
        demos = tuple(c.demo for c in chosen)
        if demos != current:
            return demos, tuple(c.sample for c in chosen)
    return None
