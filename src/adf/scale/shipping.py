"""What of a workflow's Python code goes to the workers, checked before the run.

Takes a plan and the folder of its source; gives `CodeShipment`: the modules
bound by `py "module:function"` that live next to the source (they travel
with Ray's runtime environment: the source folder becomes every worker's
working directory) and those found elsewhere (they must be importable on the
workers: installed there like adf itself), plus the `runtime_env` to start
Ray with. `ShippingError` says, before any model call, when the folder is
too large to ship or a module is found nowhere. The workers' own check (the
probe in `adf.scale.ray_executor`) then imports every binding there.

The API keys a model names (`api_key: env("NAME")` and other `env(...)`
options) are passed to the workers as environment variables when they are
set here, so a cluster calls the provider with the driver's keys.
"""

from __future__ import annotations

import importlib.util
import os

import attrs

from adf.plan.schema import EnvRef, Plan
from adf.stdlib.pyload import BindError, split_ref

MAX_SHIPPED_BYTES = 100 * 1024 * 1024
# never shipped: the reply cache and run folders (written by adf), version control, byte code
EXCLUDES = (".adf", "runs", ".git", "__pycache__", "*.pyc", "*.lock")


class ShippingError(Exception):
    """The workflow's code cannot be made available to the workers; one line."""


@attrs.frozen
class CodeShipment:
    working_dir: str | None  # the source folder, shipped to every worker; None: nothing to ship
    shipped: tuple[str, ...]  # modules found next to the source
    importable: tuple[str, ...]  # modules the workers must import from their own path
    env_vars: tuple[tuple[str, str], ...] = ()

    def runtime_env(self) -> dict[str, object]:
        env: dict[str, object] = {}
        if self.working_dir is not None:
            env["working_dir"] = self.working_dir
            env["excludes"] = list(EXCLUDES)
        if self.env_vars:
            env["env_vars"] = dict(self.env_vars)
        return env


def plan_shipment(plan: Plan, base_dir: str, environ: dict[str, str] | None = None) -> CodeShipment:
    """Where each `py` module will come from on the workers; raises `ShippingError`."""
    shipped: list[str] = []
    importable: list[str] = []
    for module in _py_modules(plan):
        top = module.split(".")[0]
        if os.path.isfile(os.path.join(base_dir, f"{top}.py")) or os.path.isdir(
                os.path.join(base_dir, top)):
            shipped.append(module)
        elif importlib.util.find_spec(top) is not None:
            importable.append(module)
        else:
            raise ShippingError(f"python module {module!r} is neither next to the source "
                                f"({base_dir}) nor importable here")
    working_dir = None
    if shipped:
        size = folder_size(base_dir)
        if size > MAX_SHIPPED_BYTES:
            raise ShippingError(
                f"{base_dir} holds {size // (1024 * 1024)} MiB; the workers get the source "
                f"folder, at most {MAX_SHIPPED_BYTES // (1024 * 1024)} MiB (move large data "
                "out of it, or install the module on the workers)")
        working_dir = base_dir
    source = os.environ if environ is None else environ
    names = sorted(_env_names(plan))
    env_vars = tuple((name, source[name]) for name in names if name in source)
    return CodeShipment(working_dir, tuple(shipped), tuple(importable), env_vars)


def folder_size(folder: str) -> int:
    """Bytes the runtime environment would upload from `folder` (EXCLUDES left out)."""
    total = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in EXCLUDES]
        for name in files:
            if not name.endswith((".pyc", ".lock")):
                total += os.path.getsize(os.path.join(root, name))
    return total


def _py_modules(plan: Plan) -> list[str]:
    refs = [spec.ref for spec in plan.fn_specs()]
    refs += [loss.metric for loss in plan.losses]
    modules: list[str] = []
    for ref in refs:
        if not ref.startswith("py:"):
            continue
        try:
            module, _ = split_ref(ref)
        except BindError as exc:
            raise ShippingError(str(exc)) from None
        if module not in modules:
            modules.append(module)
    return modules


def _env_names(plan: Plan) -> set[str]:
    names: set[str] = set()
    for model in plan.models:
        for _, value in model.options:
            if isinstance(value, EnvRef):
                names.add(value.name)
    return names
