"""`adfc gen python FILE -o client.py`: write a typed Python client for a workflow.

Takes a `.adf` or `.plan` (the lock file applied, as `adf.load` does) and
an output path; writes a module whose `Inputs`/`Outputs` types and
`Client` mirror the workflow's declarations (see `adf.api.codegen`), so that
`mypy --strict` checks the code that calls it. Without `-o` the module is
printed. Exit status: 0 written, 1 the workflow does not compile, 2 usage
or I/O error.
"""

from __future__ import annotations

import argparse
import os
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    from adf.cli._options import add_lock_argument

    parser.add_argument("language", choices=("python",), help="the client's language")
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("-o", "--output", metavar="OUT.py", default=None,
                        help="write the module here (default: print it)")
    add_lock_argument(parser)


def execute(args: argparse.Namespace) -> int:
    from adf.api.codegen import python_client
    from adf.cli._command import load, print_error, write_output
    from adf.optim.lockfile import plan_hash
    from adf.workflow import WorkflowError
    from adf.workflow.signature import signature

    try:
        workflow = load(args.file, use_lock=not args.no_lock)
    except WorkflowError as exc:
        print_error("gen", exc)
        return exc.status
    folder = os.path.dirname(os.path.abspath(args.output)) if args.output else os.getcwd()
    relative = os.path.relpath(os.path.abspath(args.file), folder)
    module = os.path.splitext(os.path.basename(args.output or "client.py"))[0]
    try:
        text = python_client(signature(workflow.plan), source=os.path.basename(args.file),
                             path=relative, module=module, plan_hash=plan_hash(workflow.plan))
    except ValueError as exc:
        print(f"adfc gen: {exc}", file=sys.stderr)
        return 1
    status = write_output("gen", args.output, text)
    if status == 0 and args.output is not None:
        print(f"wrote {args.output}", file=sys.stderr)
    return status
