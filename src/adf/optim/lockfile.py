"""The lock file: trained parameter values kept next to the `.adf` source.

Takes a plan, the `.adf` path and trained values; gives `NAME.adf.lock`, a
small, indented JSON file meant to be reviewed in a pull request like code,
and reads it back onto a plan for `adfc run/eval/train`.

The lock is tied to the program it was trained for: it records the source
hash and, for every parameter, the `base` value the source held when
training started. When loading, a parameter's trained value is applied only
if the parameter still exists with the same kind, is still trainable, and
the source still holds that same base value; otherwise it is reported as
stale and the source value is used. So an edit elsewhere in the file (a
comment, another node) keeps the lock in force, while hand-editing a
trained literal wins over the lock.

A lock file is only replaced by a run that started from it. A run records
the lock it saw at its start (`LockBase`, kept in its run folder, so a
resumed run knows it too); `write_lock_guarded` takes an OS lock on the
source folder, compares, and refuses with `LockConflict` when another run
wrote the file meanwhile, or when this run ignored it (`--no-lock`), unless
forced. The lock holds no absolute path: the run it came from is recorded
relative to the lock file's folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from adf.optim.checkpoint import read_document, write_json_atomic
from adf.optim.runlock import wait_folder
from adf.plan.paramvalue import (
    ParamValue,
    ParamValueError,
    demos_from_json,
    param_value,
    value_to_json,
)
from adf.plan.schema import ParamDecl, Plan
from adf.records import replace

LOCK_FORMAT = "adf-lock"
LOCK_VERSION = 1



class LockError(Exception):
    """A lock file that cannot be read; the message is for the user."""


class LockConflict(Exception):
    """The lock file is not this run's to replace; the message is for the user."""


LOCK_BASE_NAME = "lock_base.json"


@attrs.frozen
class LockBase:
    """The lock file a run started from: its digest (None: there was none) and whether the
    run used it (False with --no-lock)."""

    digest: str | None
    used: bool

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "used": self.used}


def lock_digest(adf_path: str) -> str | None:
    """The sha256 of the lock file's bytes, None when there is no lock file."""
    try:
        with open(lock_path(adf_path), "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def save_lock_base(run_dir: str, base: LockBase) -> None:
    write_json_atomic(os.path.join(run_dir, LOCK_BASE_NAME), base.to_json())


def load_lock_base(run_dir: str, adf_path: str) -> LockBase:
    """What a run started from; a run folder from before this record trusts the current lock."""
    try:
        with open(os.path.join(run_dir, LOCK_BASE_NAME), encoding="utf-8") as handle:
            raw = json.load(handle)
        digest, used = raw["digest"], raw["used"]
        if (digest is None or isinstance(digest, str)) and isinstance(used, bool):
            return LockBase(digest, used)
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        pass
    return LockBase(lock_digest(adf_path), True)


def write_lock_guarded(
    adf_path: str,
    base_plan: Plan,
    values: Mapping[str, ParamValue],
    info: Mapping[str, Any],
    base: LockBase,
    *,
    force: bool = False,
) -> tuple[str, LockBase]:
    """Write the lock unless another run replaced it since `base`; return the path and the
    new base (for a second write by the same run). Raises `LockConflict` or `OSError`."""
    folder = os.path.dirname(os.path.abspath(adf_path))
    with wait_folder(folder):
        now = lock_digest(adf_path)
        if not force and now is not None and (now != base.digest or not base.used):
            why = ("this run ignored it (--no-lock)" if not base.used and now == base.digest
                   else "another run wrote it after this one started")
            raise LockConflict(f"{lock_path(adf_path)} not replaced: {why}")
        path = write_lock(adf_path, base_plan, values, info)
        return path, LockBase(lock_digest(adf_path), True)


@attrs.frozen
class LockResult:
    plan: Plan
    path: str
    applied: tuple[str, ...]
    stale: tuple[tuple[str, str], ...]  # (param, why it was not applied)
    found: bool


def lock_path(adf_path: str) -> str:
    return adf_path + ".lock"


def plan_hash(plan: Plan) -> str:
    from adf.plan.codec import encode_plan

    return hashlib.sha256(encode_plan(plan)).hexdigest()


def write_lock(
    adf_path: str,
    base_plan: Plan,
    values: Mapping[str, ParamValue],
    info: Mapping[str, Any],
) -> str:
    """Write the lock for `values` (trainable params of `base_plan`); return its path."""
    params: dict[str, Any] = {}
    for param in base_plan.params:
        if param.frozen or param.name not in values:
            continue
        params[param.name] = {
            "kind": param.kind,
            "base": value_to_json(param_value(param)),
            "value": value_to_json(values[param.name]),
        }
    trained = dict(info)
    if isinstance(trained.get("run"), str):  # relative to the lock: it is committed and shared
        folder = os.path.dirname(os.path.abspath(adf_path))
        trained["run"] = os.path.relpath(os.path.abspath(trained["run"]), folder)
    body = {
        "format": LOCK_FORMAT,
        "version": LOCK_VERSION,
        "source": os.path.basename(adf_path),
        "source_hash": base_plan.source_hash,
        "plan_hash": plan_hash(base_plan),
        "trained": trained,
        "params": params,
    }
    path = lock_path(adf_path)
    write_json_atomic(path, body, indent=2)
    return path


def read_lock(path: str) -> dict[str, Any]:
    raw = read_document(path, LOCK_FORMAT, LOCK_VERSION, "lock file", "lock", LockError)
    if not isinstance(raw.get("params"), dict):
        raise LockError(f"{path} has no params table")
    return raw


def apply_lock_verbose(plan: Plan, adf_path: str) -> LockResult:
    """`plan` with the lock's trained values applied where they are still valid."""
    path = lock_path(adf_path)
    if not os.path.exists(path):
        return LockResult(plan, path, (), (), False)
    raw = read_lock(path)
    by_name = {p.name: p for p in plan.params}
    applied: list[str] = []
    stale: list[tuple[str, str]] = []
    new_params = dict(by_name)
    for name, entry in raw["params"].items():
        param = by_name.get(name)
        reason = _stale_reason(param, entry)
        if reason is not None:
            stale.append((name, reason))
            continue
        assert param is not None
        if param.kind == "prompt":
            new_params[name] = replace(param, value=entry["value"])
        else:
            new_params[name] = replace(param, demos=demos_from_json(entry["value"]))
        applied.append(name)
    new_plan = replace(plan, params=tuple(new_params[p.name] for p in plan.params))
    return LockResult(new_plan, path, tuple(applied), tuple(stale), True)


def apply_lock(plan: Plan, adf_path: str) -> Plan:
    """The plan `adfc run/eval/train` should use: source values overridden by the lock."""
    return apply_lock_verbose(plan, adf_path).plan


def _stale_reason(param: ParamDecl | None, entry: Any) -> str | None:
    if param is None:
        return "the parameter no longer exists"
    if not isinstance(entry, dict):
        return "malformed entry"
    if entry.get("kind") != param.kind:
        return f"the parameter is now a {param.kind}"
    if param.frozen:
        return "the parameter is now frozen"
    value = entry.get("value")
    if param.kind == "prompt":
        if not isinstance(value, str):
            return "malformed value"
    else:
        try:
            demos = demos_from_json(value)
        except ParamValueError:
            return "malformed demos"
        if param.max_demos is not None and len(demos) > param.max_demos:
            return f"more demos than the declared max of {param.max_demos}"
    if entry.get("base") != value_to_json(param_value(param)):
        return "the source value was edited since training (the source wins)"
    return None
