"""Which nodes of the unrolled graph one sample actually ran, read from a trace.

Takes a `Plan` and the text of a trace file; gives a `TakenPath`: for each
node id, `True` (it ran for that sample) or `False` (it did not: an untaken
branch, a step after an early exit, or a node after a failure), and which
sample that was. `adfc graph --trace` draws it over the graph (taken nodes
and the edges between them marked, the others dimmed).

Two trace files are understood:

- the JSON that `adfc run --json` prints: every node's `status`, exact;
- the JSON-lines call trace that `--trace FILE` writes (`adfc run`, `eval`,
  `train`): one record per model call. The llm nodes that made a forward
  call for the sample ran, the other llm nodes did not; a node that makes
  no call ran when a node reading it ran (a `select` or `last` node reads
  every branch and step, so it does not count), or when it is not inside a
  branch or a later loop step (`Node.when`), or when an llm node under the
  same guards ran; it did not run when an llm node under the same guards
  did not. A node none of these decides is left out (drawn as usual).

A trace that fits neither form, or names no node of the plan, is a
`TraceError` with a message for the user.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from adf.plan.schema import Guard, Plan


class TraceError(ValueError):
    """A trace file that cannot be read against this plan; the message is for the user."""


@attrs.frozen
class TakenPath:
    sample: str
    ran: Mapping[str, bool]  # node id -> ran for this sample; absent: not known


def taken_path(plan: Plan, text: str, sample: str | None = None) -> TakenPath:
    """The path `sample` (default: the trace's first) took through `plan`."""
    stripped = text.strip()
    if not stripped:
        raise TraceError("the trace is empty")
    try:
        whole = json.loads(stripped)
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("trace"), list):
        found = _from_run(plan, whole, sample)
    else:
        found = _from_calls(plan, _records(stripped), sample)
    if not any(node.id in found.ran for node in plan.nodes):
        raise TraceError(f"the trace names no node of this plan (sample {found.sample!r}); "
                         "was it written by another program?")
    return found


def _from_run(plan: Plan, data: Mapping[str, Any], sample: str | None) -> TakenPath:
    name = str(data.get("id", ""))
    if sample is not None and sample != name:
        raise TraceError(f"the trace holds sample {name!r}, not {sample!r}")
    statuses = {str(t.get("node")): t.get("status") for t in data["trace"] if isinstance(t, dict)}
    ids = {node.id for node in plan.nodes}
    ran = {node: status in ("ok", "failed") for node, status in statuses.items() if node in ids}
    return TakenPath(name, ran)


def _records(text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise TraceError(f"line {number} of the trace is not JSON: neither the output of "
                             "`adfc run --json` nor a `--trace` call log") from None
        if not isinstance(record, dict) or "node" not in record or "sample" not in record:
            raise TraceError(f"line {number} of the trace is not a call record (no `node` and `sample`)")
        records.append(record)
    return records


def _from_calls(plan: Plan, records: list[dict[str, Any]], sample: str | None) -> TakenPath:
    forward = [r for r in records if r.get("purpose", "forward") == "forward"]
    samples = list(dict.fromkeys(str(r["sample"]) for r in forward))
    if not samples:
        raise TraceError("the trace holds no forward call")
    chosen = samples[0] if sample is None else sample
    if chosen not in samples:
        shown = ", ".join(repr(s) for s in samples[:5])
        raise TraceError(f"the trace has no call of sample {chosen!r} (it has {shown}"
                         f"{', ...' if len(samples) > 5 else ''})")
    called = {str(r["node"]) for r in forward if str(r["sample"]) == chosen}
    ran: dict[str, bool] = {}
    by_guards: dict[tuple[Guard, ...], list[bool]] = {}
    for node in plan.nodes:
        if node.kind == "llm":
            ran[node.id] = node.id in called
            by_guards.setdefault(node.when, []).append(ran[node.id])
    readers: dict[str, list[str]] = {}
    for node in plan.nodes:
        if node.kind in ("select", "last"):
            continue  # they read every branch and step, taken or not
        for binding in node.inputs:
            readers.setdefault(binding.source, []).append(node.id)
    for node in reversed(plan.nodes):  # readers first, so what they read follows them
        if node.kind == "llm":
            continue
        if any(ran.get(reader) for reader in readers.get(node.id, ())) or not node.when:
            ran[node.id] = True
        elif node.when in by_guards:
            ran[node.id] = any(by_guards[node.when])
    return TakenPath(chosen, ran)
