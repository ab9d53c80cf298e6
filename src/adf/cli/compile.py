"""`adfc compile FILE [-o OUT.plan]`: compile a `.adf` file to a plan.

Takes one source path; writes the msgpack plan (default: the source path
with `.plan`) atomically and gives the exit status: 0 written, 1 when the
source has errors (nothing is written), 2 for unreadable input (E0007) or
an unwritable output. It prints the same diagnostics as `adfc check`
(compiler checks and lints, warnings included), in the same format.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the .adf source")
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="where to write the plan (default: FILE with .plan)"
    )
    parser.add_argument(
        "--format", choices=("human", "json"), default="human", help="diagnostics format"
    )


def execute(args: argparse.Namespace) -> int:
    from adf.cli.check import diagnostic_sources, lint_result
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import render_human, render_json, summary
    from adf.plan.codec import PlanError, encode_plan

    result = compile_file(args.file)
    unreadable = any(d.code == "E0007" for d in result.diagnostics)
    # the same diagnostics as `adfc check`: compiler checks, then the lints on the plan
    diagnostics = result.diagnostics if unreadable else lint_result(result, args.file, set())
    if diagnostics:
        if args.format == "json":
            print(render_json(diagnostics))
        else:
            print(
                render_human(
                    diagnostics,
                    diagnostic_sources(diagnostics, args.file, result.source),
                    color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"),
                )
            )
            if not unreadable:
                print(f"{args.file}: {summary(diagnostics)}")
    if unreadable:
        return 2
    if result.plan is None or any(d.is_error for d in diagnostics):
        return 1
    out = args.output or os.path.splitext(args.file)[0] + ".plan"
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
