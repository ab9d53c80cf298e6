"""Exclusive run folders and writable outputs, checked before any budget is spent.

Takes folder and file paths; gives `hold_folder`, a context manager holding
an OS-level exclusive lock (`flock`) on a folder for as long as a training
runs in it, so a second `adfc train --out SAME` (or `--resume`) stops at
once with a message instead of racing the first and overwriting its files;
and `unwritable`, which tries to create a file where each output will go and
names the first place that refuses (read-only folder, full disk, missing
permission). The lock is released by the kernel when the process ends, even
on SIGKILL, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator


class FolderBusy(Exception):
    """Another process holds the folder; the message is for the user."""


@contextlib.contextmanager
def hold_folder(folder: str, what: str = "run folder") -> Iterator[None]:
    """Hold an exclusive lock on `folder` (which must exist) until the block ends."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise FolderBusy(f"the {what} {folder} is in use by another adfc process; "
                                 "wait for it to finish or choose another --out") from None
            raise
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def wait_folder(folder: str) -> Iterator[None]:
    """Hold an exclusive lock on `folder`, waiting for another holder to let go."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def unwritable(places: Iterable[tuple[str, str]]) -> str | None:
    """The first (what, folder) where a file cannot be created, as one line; None if all can."""
    for what, folder in places:
        try:
            os.makedirs(folder, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".adf-probe-", dir=folder)
            try:
                os.write(fd, b"x" * 4096)
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            return f"cannot write the {what} in {folder}: {describe_os_error(exc)}"
    return None


def describe_os_error(exc: OSError) -> str:
    """An `OSError` in words a user can act on (full disk and read-only named as such)."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exceeded"
    return exc.strerror or str(exc)
