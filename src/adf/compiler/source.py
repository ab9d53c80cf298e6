"""Reading a source file without trusting it: regular files only, bounded in size.

Takes a path and a byte limit; gives the file's bytes, or raises
`SourceReadError` with a one-line message. The file is opened without
blocking and checked with `fstat` on the open descriptor, so a FIFO (which
would block a plain `open` forever), a device such as `/dev/zero` (endless),
or a link to either is refused before a byte is read; a regular file larger
than the limit is refused without reading it whole. `adfc check`, `compile`
and `fmt` raise the limit with `--max-source-mb`. `used_path` says which
file a `use "..."` names.
"""

from __future__ import annotations

import os
import stat

MAX_SOURCE_BYTES = 8_000_000  # a real .adf file is a few kilobytes


def used_path(written: str, base_dir: str) -> str:
    """The file `use "written"` names in a file whose folder is `base_dir`: relative to it
    (a NUL, which no path may hold, stays in the name as `\\0`, so the read fails cleanly)."""
    return os.path.normpath(os.path.join(base_dir, written.replace("\0", "\\0")))


class SourceReadError(Exception):
    """The file cannot be read as a source; the message is for the user."""


def read_source_bytes(path: str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SourceReadError(f"cannot read `{path}`: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else \
                "a pipe" if stat.S_ISFIFO(info.st_mode) else \
                "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else \
                "not a regular file"
            raise SourceReadError(f"cannot read `{path}`: it is {kind}, not a regular file")
        if info.st_size > limit:
            raise SourceReadError(
                f"`{path}` is {info.st_size:,} bytes, over the {limit:,}-byte limit for a "
                "source file (raise it with --max-source-mb)")
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
                raise SourceReadError(f"`{path}` is over the {limit:,}-byte limit for a "
                                      "source file (raise it with --max-source-mb)")
        return b"".join(chunks)
    except OSError as exc:
        raise SourceReadError(f"cannot read `{path}`: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
