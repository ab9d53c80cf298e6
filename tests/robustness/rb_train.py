"""Helpers for the reliability tests: a counting project, `adfc train` argv, mounts.

Read-only and full file systems are made with real mounts (a read-only bind
mount, a small tmpfs) so the tests also hold when they run as root, where
file permissions do not stop writes. `mounts_allowed` says whether this
machine lets the test process mount.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optim_task as task

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
ADFC = [sys.executable, "-m", "adf.cli.main"]


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "count.adf"
    source.write_text(task.ADF_SOURCE.format(base="http://127.0.0.1:9/v1"), encoding="utf-8")
    task.write_data(str(folder / "data"))
    return source


def train_args(source: Path, url: str, out: Path, *extra: str) -> list[str]:
    return ["train", str(source), "--api-base", f"m={url}", "--seed", "3", "--steps", "4",
            "--out", str(out), "--no-cache", "--quiet", *extra]


def checkpoint_step(run: Path) -> int:
    try:
        body = json.loads((run / "checkpoint.json").read_text())
    except (OSError, ValueError):
        return -1
    state = body["state"]
    return int(state["step"]) if state["phase"] == "steps" else -1


@functools.cache
def mounts_allowed() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder],
                              capture_output=True)
        if made.returncode != 0:
            return False
        subprocess.run(["umount", folder], check=True)
        return True


def read_only(folder: Path) -> None:
    """Make `folder` read-only in place (a read-only bind mount over itself)."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)


def unmount(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], check=False)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "512k") -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        unmount(folder)


def fill(folder: Path) -> Path:
    """Fill the file system holding `folder`; return the filler file (delete it to free)."""
    filler = folder / "filler.bin"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError), open(filler, "ab") as handle:  # the last partial block
        while True:
            handle.write(b"\0" * 512)
            handle.flush()
    return filler
