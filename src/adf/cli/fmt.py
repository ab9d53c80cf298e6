"""`adfc fmt FILE...`: rewrite `.adf` files in the canonical layout.

Takes files (or directories, searched for `*.adf`); rewrites each in place,
or with `--check` changes nothing and lists the files that would change,
or with `--diff` prints a unified diff. `-` formats stdin to stdout.
A file with syntax errors is reported and left alone. Exit 0 when every
file is (or now is) formatted, 1 when `--check` finds a file to reformat
or a file does not parse, 2 for unreadable files.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys

from adf.cli._args import add_source_limit, adf_files, source_limit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".adf files or directories (- for stdin)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    mode.add_argument("--diff", action="store_true", help="change nothing; print what would change")
    add_source_limit(parser)


def execute(args: argparse.Namespace) -> int:
    from adf.cli._stream import diagnostics_color, print_diagnostics
    from adf.compiler.render import render_human
    from adf.compiler.source import SourceReadError
    from adf.syntax.fmt import format_source

    status = 0
    changed = 0
    for path in adf_files(args.files):
        try:
            text = sys.stdin.read() if path == "-" else _read(path, source_limit(args))
        except (OSError, UnicodeDecodeError, SourceReadError) as exc:
            reason = str(exc) if isinstance(exc, SourceReadError) else \
                f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
            print(f"adfc fmt: {reason}", file=sys.stderr)
            status = max(status, 2)
            continue
        name = "<stdin>" if path == "-" else path
        formatted, diagnostics = format_source(text, name)
        if formatted is None:
            print_diagnostics(render_human(diagnostics, {name: text}, color=diagnostics_color()))
            print(f"adfc fmt: {name} has syntax errors; not formatted", file=sys.stderr)
            status = max(status, 1)
            continue
        if path == "-":
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        changed += 1
        if args.check:
            print(f"would reformat {path}")
            status = max(status, 1)
        elif args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                fromfile=path, tofile=path))
        else:
            try:
                _write(path, formatted)
            except OSError as exc:
                print(f"adfc fmt: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
                status = max(status, 2)
                continue
            print(f"reformatted {path}")
    if args.check and changed == 0 and status == 0:
        print("all files formatted")
    return status


def _read(path: str, limit: int | None) -> str:
    from adf.compiler.source import MAX_SOURCE_BYTES, read_source_bytes

    data = read_source_bytes(path, MAX_SOURCE_BYTES if limit is None else limit)
    return data.decode("utf-8")


def _write(path: str, text: str) -> None:
    """Replace the file atomically, so an interrupted run never leaves half a file.

    A symbolic link stays a link: its target is the file rewritten (in the
    target's folder, keeping the target's permissions).
    """
    target = os.path.realpath(path)
    temporary = f"{target}.fmt-tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        with contextlib.suppress(OSError):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
