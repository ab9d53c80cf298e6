"""`adfc compile FILE [-o OUT.plan]`: compile a `.adf` file to a plan.

Takes one source path; writes the msgpack plan (default: the source path
with `.plan`) atomically and gives the exit status: 0 written, 1 when the
source has errors (nothing is written), 2 for unreadable input (E0007), an
unwritable output, or an output that exists and is not a plan (the source
itself, say: `adfc compile x.plan` never overwrites it). It prints the same diagnostics as `adfc check`
(compiler checks and lints, warnings included), in the same format and on
the same stream (`adf.cli._stream`: human diagnostics on standard error,
`--format json` records on standard output).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys

from adf.cli._args import add_source_limit, source_limit
from adf.cli._stream import diagnostics_color, print_diagnostics, print_records


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the .adf source")
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="where to write the plan (default: FILE with .plan)"
    )
    parser.add_argument(
        "--format", choices=("human", "json"), default="human", help="diagnostics format"
    )
    add_source_limit(parser)


def execute(args: argparse.Namespace) -> int:
    from adf.cli.check import diagnostic_sources, lint_result
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import json_chunks, render_human, summary
    from adf.plan.codec import PlanError, encode_plan

    out = args.output or os.path.splitext(args.file)[0] + ".plan"
    refusal = _not_ours(out, args.file)
    if refusal is not None:
        print(f"adfc compile: {refusal}", file=sys.stderr)
        return 2
    result = compile_file(args.file, max_bytes=source_limit(args))
    unreadable = any(d.code == "E0007" for d in result.diagnostics)
    # the same diagnostics as `adfc check`: compiler checks, then the lints on the plan
    diagnostics = result.diagnostics if unreadable else lint_result(result, args.file, set())
    if diagnostics:
        if args.format == "json":
            print_records(json_chunks(diagnostics))
        else:
            sources = diagnostic_sources(diagnostics, args.file, result.source)
            print_diagnostics(render_human(diagnostics, sources, color=diagnostics_color()))
            if not unreadable:
                print_diagnostics(f"{args.file}: {summary(diagnostics)}")
    if unreadable:
        return 2
    if result.plan is None or any(d.is_error for d in diagnostics):
        return 1
    try:
        data = encode_plan(result.plan)
    except PlanError as exc:  # values the checks should have ruled out
        print(f"adfc: cannot write the plan: {exc}", file=sys.stderr)
        return 1
    tmp = f"{out}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        print(f"adfc: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    nodes = len(result.plan.nodes)
    print(f"wrote {out} ({nodes} node{'s' if nodes != 1 else ''}, {len(data)} bytes)")
    return 0


def _not_ours(out: str, source: str) -> str | None:
    """Why `out` must not be overwritten (it is the source, or an existing non-plan file)."""
    if not os.path.lexists(out):
        return None
    with contextlib.suppress(OSError):
        if os.path.samefile(out, source):
            return f"{out} is the source file itself; give another -o"
    try:
        if not stat.S_ISREG(os.stat(out).st_mode):  # a FIFO would block the read below
            return f"{out} exists and is not a regular file; not overwriting it (give another -o)"
        with open(out, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None  # the write will say why it cannot
    if b"\xa8adf-plan" not in head:
        return f"{out} exists and is not an adf plan; not overwriting it (remove it or give -o)"
    return None
