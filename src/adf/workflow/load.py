"""Compile or load a workflow and apply its lock file.

Takes a path (a `.adf` source, compiled in memory, or a compiled `.plan`);
gives a `Loaded` workflow: the plan to run (with the lock file's trained values
unless `use_lock` is false), the plan as written in the source, the
directory its `py` bindings are imported from, and what the lock file did
(applied and stale entries) so that each entry point can report it in its
own words. Nothing is printed here; failures are `WorkflowError`s. The
compiler is imported only when a `.adf` is compiled.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from adf.workflow.errors import FAILED, USAGE, WorkflowError

if TYPE_CHECKING:
    from adf.optim.lockfile import LockResult
    from adf.plan.schema import Plan
    from adf.runtime.bindings import Bindings
    from adf.runtime.data import DataSet


@attrs.frozen
class Loaded:
    plan: Plan  # what runs: the source's plan with the lock applied
    base_dir: str  # where `py` bindings are imported from
    file: str
    source_plan: Plan  # the plan as compiled, before the lock file
    lock: LockResult | None = None  # None: a `.plan`, or the lock was not asked for

    @property
    def lock_applied(self) -> tuple[str, ...]:
        return self.lock.applied if self.lock is not None else ()


@attrs.frozen
class ProgramErrors:
    """A program that does not compile: its diagnostics, rendered, and how many are errors."""

    text: str
    count: int


def compile_program(path: str) -> Plan | ProgramErrors:
    """The plan of the `.adf` at `path`, or its rendered diagnostics when it has errors."""
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import render_human

    result = compile_file(path)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors or result.plan is None:
        text = render_human(errors or list(result.diagnostics), {result.file: result.source})
        return ProgramErrors(text, len(errors))
    plan: Plan = result.plan
    return plan


def compile_text(text: str, near: str) -> Plan | None:
    """Compile source text as if it were the file `near` (for write-back checks)."""
    from adf.compiler.pipeline import compile_source

    result = compile_source(text, near)
    return result.plan if result.ok else None


def load_workflow(path: str, *, use_lock: bool = True) -> Loaded:
    """Compile a `.adf` in memory or load a `.plan`.

    A `.adf` with a lock file beside it (written by `adfc train`) runs with the
    trained values unless `use_lock` is false; stale entries are kept in
    `Loaded.lock` for the caller to name.
    """
    if not os.path.exists(path):
        raise WorkflowError(f"cannot read {path}: no such file", USAGE)
    base_dir = os.path.dirname(os.path.abspath(path))
    if path.endswith(".plan"):
        from adf.plan.codec import PlanError, load_plan

        try:
            plan = load_plan(path)
        except PlanError as exc:
            raise WorkflowError(str(exc), USAGE) from None
        return Loaded(plan, base_dir, path, plan)
    compiled = compile_program(path)
    if isinstance(compiled, ProgramErrors):
        count = compiled.count
        raise WorkflowError(f"{path}: {count} error{'s' if count != 1 else ''}; nothing was run",
                            FAILED, details=compiled.text)
    if not use_lock:
        return Loaded(compiled, base_dir, path, compiled)
    locked = apply_lock(compiled, path)
    return Loaded(locked.plan, base_dir, path, compiled, locked)


def apply_lock(plan: Plan, path: str) -> LockResult:
    """`plan` with the trained values of `path`'s lock file, where they still fit."""
    from adf.optim.lockfile import LockError, apply_lock_verbose

    try:
        return apply_lock_verbose(plan, path)
    except LockError as exc:
        raise WorkflowError(f"{exc} (use --no-lock to ignore it)", USAGE) from None


def bind_functions(workflow: Loaded) -> Bindings:
    """The workflow's `py` functions, imported from its directory."""
    from adf.runtime.bindings import BindError, bind

    try:
        return bind(workflow.plan, workflow.base_dir)
    except BindError as exc:
        raise WorkflowError(str(exc), FAILED) from None


def load_dataset(
    workflow: Loaded, data: str | None = None, *, split: str | None = None,
    limit: int | None = None, strict: bool = False,
) -> DataSet:
    """The rows of `data` (default: the `data/` folder next to the workflow), typed by its plan.

    A bad row is skipped and listed in `DataSet.bad_rows`; with `strict`, it stops the load.
    """
    from adf.runtime.data import DataError, load_data

    try:
        return load_data(workflow.plan, data_path(workflow.file, data), split=split, limit=limit,
                         strict=strict)
    except DataError as exc:
        raise WorkflowError(str(exc), USAGE) from None


def data_path(file: str, data: str | None) -> str:
    """`data`, or the `data/` folder next to `file` when it is not given."""
    if data is not None:
        return str(data)
    default = os.path.join(os.path.dirname(os.path.abspath(file)), "data")
    if not os.path.isdir(default):
        raise WorkflowError(f"no --data given and no data/ folder next to {file}", USAGE)
    return default
