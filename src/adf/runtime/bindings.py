"""Resolve a plan's function and metric references to Python callables.

Takes a plan and the directory of its `.adf` source; gives `Bindings`: for each
`fn` node's reference, each tool an llm may call, and each loss's metric, the callable to run. Standard
entries (`std.*`) come from `adf.stdlib.functions` / `adf.stdlib.losses`;
`py:module:function` references are imported by `adf.stdlib.pyload` (only
here, at run time). An unknown or unloadable reference raises `BindError`
before any model call is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from adf.plan.schema import Plan
from adf.stdlib.functions import FUNCTIONS
from adf.stdlib.losses import METRICS
from adf.stdlib.pyload import BindError, load_callable

__all__ = ["BindError", "Bindings", "bind"]


@attrs.frozen
class Bindings:
    functions: Mapping[str, Callable[..., Any]]
    metrics: Mapping[str, Callable[..., Any]]

    def is_user_code(self, ref: str) -> bool:
        return ref.startswith("py:")


def bind(plan: Plan, base_dir: str = ".") -> Bindings:
    functions: dict[str, Callable[..., Any]] = {}
    for spec in plan.fn_specs():
        functions[spec.ref] = _resolve(spec.ref, FUNCTIONS, base_dir, "function")
    metrics: dict[str, Callable[..., Any]] = {}
    for loss in plan.losses:
        if loss.metric not in metrics:
            metrics[loss.metric] = _resolve(loss.metric, METRICS, base_dir, "metric")
    return Bindings(functions, metrics)


def _resolve(
    ref: str, table: Mapping[str, Callable[..., Any]], base_dir: str, what: str
) -> Callable[..., Any]:
    if ref.startswith("std."):
        if ref not in table:
            raise BindError(f"unknown standard {what} {ref!r}")
        return table[ref]
    return load_callable(ref, base_dir)
