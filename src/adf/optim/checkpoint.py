"""Atomic JSON files and the training checkpoint envelope.

Takes a JSON-able mapping and a path; gives a file that is either the old
version or the new one, never a torn mix: the text is written to a temporary
file in the same folder, flushed and fsynced, renamed over the target, and
the folder is fsynced so the rename survives a power cut. A process killed
with SIGKILL at any moment leaves the last complete checkpoint readable.

The checkpoint envelope adds a format tag, a version and the plan hash the
run was started for, so `--resume` refuses a checkpoint from another
program. Random generator states are converted to and from JSON lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from collections.abc import Mapping
from typing import Any

CHECKPOINT_NAME = "checkpoint.json"
_FORMAT = "adf-checkpoint"
_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is for the user."""


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


def load_checkpoint(run_dir: str, plan_hash: str | None = None) -> dict[str, Any]:
    path = os.path.join(run_dir, CHECKPOINT_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint in {run_dir} (nothing to resume)") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        raise CheckpointError(f"{path} is not an adf training checkpoint")
    if raw.get("version") != _VERSION:
        raise CheckpointError(f"{path} has checkpoint version {raw.get('version')}, expected {_VERSION}")
    if plan_hash is not None and raw.get("plan_hash") != plan_hash:
        raise CheckpointError(
            f"{path} was written for a different program (plan hash differs); "
            "start a new run instead of --resume"
        )
    state = raw.get("state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} has no state")
    return state


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
