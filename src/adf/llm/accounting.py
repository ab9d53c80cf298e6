"""Usage totals per node, per purpose, per model and per run.

Takes `CallTrace` records (it is itself a trace sink: pass it to the
client); gives `Accounting`, which keeps one `adf.llm.usage.Usage` per node,
per purpose, per model, per (model, node, purpose) (`by_call`, what the reply
cache keeps as token history for the cost estimator) and for the whole run.
"""

from __future__ import annotations

from typing import Any

from adf.llm.calltrace import CallTrace
from adf.llm.usage import Usage


class Accounting:
    """Running totals; call it with each `CallTrace` (it is a trace sink)."""

    def __init__(self) -> None:
        self.total = Usage()
        self.by_node: dict[str, Usage] = {}
        self.by_purpose: dict[str, Usage] = {}
        self.by_model: dict[str, Usage] = {}
        self.by_call: dict[tuple[str, str, str], Usage] = {}  # (model, node, purpose)

    def __call__(self, record: CallTrace) -> None:
        usage = Usage.of_trace(record)
        self.total = self.total + usage
        node = record.node or "(unnamed)"
        self.by_node[node] = self.by_node.get(node, Usage()) + usage
        self.by_purpose[record.purpose] = self.by_purpose.get(record.purpose, Usage()) + usage
        self.by_model[record.model] = self.by_model.get(record.model, Usage()) + usage
        key = (record.model, node, record.purpose)
        self.by_call[key] = self.by_call.get(key, Usage()) + usage

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total.to_json(),
            "by_node": {k: v.to_json() for k, v in sorted(self.by_node.items())},
            "by_purpose": {k: v.to_json() for k, v in sorted(self.by_purpose.items())},
            "by_model": {k: v.to_json() for k, v in sorted(self.by_model.items())},
        }
