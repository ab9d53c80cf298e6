"""Atomic JSON files and the training checkpoint envelope.

Takes a JSON-able mapping and a path; gives a file that is either the old
version or the new one, never a torn mix: the text is written to a temporary
file in the same folder, flushed and fsynced, renamed over the target, and
the folder is fsynced so the rename survives a power cut. A process killed
with SIGKILL at any moment leaves the last complete checkpoint readable.

The checkpoint envelope adds a format tag, a version and the plan hash the
run was started for, so `--resume` refuses a checkpoint from another
program. `load_checkpoint` checks the state's shape against `STATE_SCHEMA`
before anything reads it, so a hand-edited or truncated-but-valid JSON file
is refused with the file and the field named (`state.pool.entries[3]:
expected a number, found a string`), never a traceback. Random generator
states are converted to and from JSON lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from collections.abc import Mapping
from typing import Any

from adf.plan.regularfile import FileReadError, read_regular_file

Shape = tuple[Any, ...]  # ("int",) ("list", item) ("dict", value) ("record", fields) ...

CHECKPOINT_NAME = "checkpoint.json"
MAX_DOCUMENT_BYTES = 256_000_000  # a checkpoint or lock file holds a run's prompts and demos
_FORMAT = "adf-checkpoint"
_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is for the user."""


class CheckpointMismatch(CheckpointError):
    """A checkpoint written for another program or other training settings."""


def write_json_atomic(path: str, data: Any, *, indent: int | None = 1) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=False) + "\n"
    write_text_atomic(path, text)


def write_text_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(folder)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(run_dir: str, plan_hash: str, state: Mapping[str, Any]) -> str:
    path = os.path.join(run_dir, CHECKPOINT_NAME)
    write_json_atomic(path, {"format": _FORMAT, "version": _VERSION, "plan_hash": plan_hash,
                             "state": dict(state)})
    return path


def read_document(path: str, fmt: str, version: int, kind: str, short: str,
                  error: type[Exception]) -> dict[str, Any]:
    """A JSON file of format `fmt` and `version` (a checkpoint, a lock file), as a dict.

    Raises `error` with one line when it cannot be read, is not JSON, is
    another kind of file (`kind` names the expected one) or another version.
    """
    try:  # a FIFO or a device where the file should be is refused, not waited on
        raw = json.loads(read_regular_file(path, MAX_DOCUMENT_BYTES, what=kind))
    except FileReadError as exc:
        raise error(str(exc)) from None
    except ValueError as exc:  # not UTF-8, not JSON, a number past the digit limit
        raise error(f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise error(f"{path} is not an adf {kind}: it is nested too deeply") from None
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        raise error(f"{path} is not an adf {kind}")
    if raw.get("version") != version:
        raise error(f"{path} has {short} version {raw.get('version')}, expected {version}")
    return raw


def load_checkpoint(run_dir: str, plan_hash: str | None = None) -> dict[str, Any]:
    path = os.path.join(run_dir, CHECKPOINT_NAME)
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint in {run_dir} (nothing to resume)")
    raw = read_document(path, _FORMAT, _VERSION, "training checkpoint", "checkpoint",
                        CheckpointError)
    if plan_hash is not None and raw.get("plan_hash") != plan_hash:
        raise CheckpointMismatch(
            f"{path} was written for a different program (plan hash differs); "
            "start a new run instead of --resume"
        )
    state = raw.get("state")
    problem = shape_error(state, STATE_SCHEMA, "state")
    if problem is not None:
        raise CheckpointError(f"{path} is damaged: {problem} (start a new run, or restore "
                              "the file)")
    assert isinstance(state, dict)
    return state


_NUM: Shape = ("num",)
_OPT_NUM: Shape = ("opt", _NUM)
_STR: Shape = ("str",)
_INT: Shape = ("int",)
_ANY_LIST: Shape = ("list", ("any",))
_OBJ: Shape = ("dict", ("any",))
_USAGE: Shape = ("dict", _OPT_NUM)  # adf.llm.usage.Usage.to_json (cost_usd null: unknown)
_VALUES: Shape = ("dict", ("or", _STR, ("list", ("dict", _STR))))  # param -> text or demos
STATE_SCHEMA: Shape = ("record", {
    "step": _INT,
    "phase": ("enum", ("setup", "steps", "final", "done")),
    "values": _VALUES,
    "kinds": ("dict", ("enum", ("prompt", "demos"))),
    "val_score": _OPT_NUM,
    "val_before": _OPT_NUM,
    "test_before": _OPT_NUM,
    "test_after": _OPT_NUM,
    "val_after": ("optional", _OPT_NUM),
    "history": ("dict", ("list", ("record", {"value": ("any",), "val": _NUM, "step": _INT}))),
    "tried": ("dict", ("list", _STR)),
    "pool": ("record", {"entries": ("list", ("pair", _STR, _NUM)), "cap": _INT,
                        "keep_passed": _INT, "threshold": _NUM,
                        "partial": ("optional", _NUM)}),
    "demo_pool": ("dict", ("list", _OBJ)),
    "rng": ("list", ("any",)),
    "order": ("list", _STR),
    "position": _INT,
    "epoch": _INT,
    "steps_without_gain": _INT,
    "meter": ("record", {"by_purpose": ("dict", _USAGE), "refused": ("optional", _INT)}),
    "records": ("list", _OBJ),
    "counters": ("dict", _INT),
    "status": _STR,
    "resumes": ("optional", ("list", _OBJ)),
    "initial": ("optional", _OBJ),
    "candidates": ("optional", ("record", {
        "members": ("list", ("record", {
            "values": _VALUES, "val": _NUM, "step": _INT, "stalls": _INT})),
        "size": _INT})),
})


def shape_error(value: Any, shape: Shape, where: str) -> str | None:
    """The first place where `value` does not have `shape`, as "where: expected X, found Y"."""
    kind = str(shape[0])
    if kind == "any" or kind == "optional":
        return None if kind == "any" else shape_error(value, shape[1], where)
    if kind == "opt":
        return None if value is None else shape_error(value, shape[1], where)
    if kind == "or":
        first = shape_error(value, shape[1], where)
        return None if first is None else shape_error(value, shape[2], where)
    checks: dict[str, Any] = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
              "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "str": lambda v: isinstance(v, str), "enum": lambda v: v in shape[1],
              "list": lambda v: isinstance(v, list), "pair": lambda v: isinstance(v, list)
              and len(v) == 2, "dict": lambda v: isinstance(v, dict),
              "record": lambda v: isinstance(v, dict)}
    if not checks[kind](value):
        return f"{where}: expected {_describe(shape)}, found {_found(value)}"
    if kind == "list":
        for index, item in enumerate(value):
            problem = shape_error(item, shape[1], f"{where}[{index}]")
            if problem:
                return problem
    elif kind == "pair":
        return shape_error(value[0], shape[1], f"{where}[0]") or shape_error(
            value[1], shape[2], f"{where}[1]")
    elif kind == "dict":
        for key, item in value.items():
            problem = shape_error(item, shape[1], f"{where}.{key}")
            if problem:
                return problem
    elif kind == "record":
        for key, field in shape[1].items():
            if key not in value:
                if field[0] == "optional":
                    continue
                return f"{where}.{key}: missing"
            problem = shape_error(value[key], field, f"{where}.{key}")
            if problem:
                return problem
    return None


def _describe(shape: Shape) -> str:
    names = {"int": "a whole number", "num": "a number", "str": "a string",
             "list": "a list", "pair": "a pair [a, b]", "dict": "an object",
             "record": "an object"}
    if shape[0] == "enum":
        return "one of " + ", ".join(repr(v) for v in shape[1])
    if shape[0] == "or":
        return f"{_describe(shape[1])} or {_describe(shape[2])}"
    return names.get(str(shape[0]), str(shape[0]))


def _found(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value[:30]!r}"
    return "a list" if isinstance(value, list) else "an object"


def rng_to_json(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_json(data: Any) -> random.Random:
    rng = random.Random()
    try:
        version, internal, gauss = data
        rng.setstate((int(version), tuple(int(x) for x in internal), gauss))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"corrupt random state in checkpoint ({exc})") from None
    return rng
