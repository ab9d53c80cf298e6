"""Reading a file adf did not write itself: regular files only, bounded in size.

Takes a path, a byte limit and what the file is (for messages); gives the
file's bytes, or raises `FileReadError` with a one-line message. The file is
opened without blocking and checked with `fstat` on the open descriptor, so
a FIFO (which would block a plain `open` forever), a device such as
`/dev/zero` (endless), or a link to either is refused before a byte is
read; a regular file larger than the limit is refused without reading it
whole. Source files (`adf.compiler.source`) and plans (`adf.plan.codec`)
are read through it.
"""

from __future__ import annotations

import os
import stat


class FileReadError(Exception):
    """The file cannot be read; the message is for the user."""


def read_regular_file(path: str, limit: int, *, what: str = "file", raise_hint: str = "") -> bytes:
    """`path`'s bytes; `what` names the file's kind in the size message ("source file"),
    `raise_hint` says how to raise the limit ("raise it with --max-source-mb")."""
    hint = f" ({raise_hint})" if raise_hint else ""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise FileReadError(f"cannot read `{path}`: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(f"cannot read `{path}`: it is {_kind(info.st_mode)}, "
                                "not a regular file")
        if info.st_size > limit:
            raise FileReadError(f"`{path}` is {info.st_size:,} bytes, over the {limit:,}-byte "
                                f"limit for a {what}{hint}")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise FileReadError(f"`{path}` is over the {limit:,}-byte limit for a {what}{hint}")
        return b"".join(chunks)
    except OSError as exc:
        raise FileReadError(f"cannot read `{path}`: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
