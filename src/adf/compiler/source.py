"""Reading a source file without trusting it: regular files only, bounded in size.

Takes a path and a byte limit; gives the file's bytes, or raises
`SourceReadError` with a one-line message (`adf.plan.regularfile`: regular
files only, opened without blocking, a FIFO or device refused before a byte
is read, a file over the limit refused without reading it whole). `adfc check`, `compile`
and `fmt` raise the limit with `--max-source-mb`. `used_path` says which
file a `use "..."` names.
"""

from __future__ import annotations

import os

from adf.plan.regularfile import FileReadError, read_regular_file

MAX_SOURCE_BYTES = 8_000_000  # a real .adf file is a few kilobytes


def used_path(written: str, base_dir: str) -> str:
    """The file `use "written"` names in a file whose folder is `base_dir`: relative to it
    (a NUL, which no path may hold, stays in the name as `\\0`, so the read fails cleanly)."""
    return os.path.normpath(os.path.join(base_dir, written.replace("\0", "\\0")))


# the one reader of untrusted files lives with the plan (the runtime reads plans through it)
SourceReadError = FileReadError


def read_source_bytes(path: str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    return read_regular_file(path, limit, what="source file",
                             raise_hint="raise it with --max-source-mb")
