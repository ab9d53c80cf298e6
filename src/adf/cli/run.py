"""`adfc run FILE --input JSON`: run one sample and show its outputs and trace.

Takes a `.adf` or `.plan` and one data row as a JSON object (inline, or
`@path` to read it from a file); prints the outputs, the loss when the row
carries targets, and one line per node of the unrolled graph (`--verbose`
adds each prompt and reply; `--json` prints everything as JSON). Exit status:
0 when the sample ran, 1 when it failed (or the workflow does not compile),
2 for usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from adf.cli._command import load, run_command, run_options
from adf.cli._options import add_model_arguments
from adf.workflow import WorkflowError, bind_functions, open_workflow


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--input", required=True, metavar="JSON",
                        help='the sample as a JSON object, e.g. \'{"question": "..."}\', '
                             "or @FILE to read it from a file")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show every prompt and reply")
    parser.add_argument("--json", action="store_true", help="print the result and trace as JSON")


_MAX_INPUT = 64_000_000  # bytes of one --input row read from a file


def execute(args: argparse.Namespace) -> int:
    return run_command("run", _run(args))


def read_row(text: str) -> dict[str, Any]:
    from adf.plan.regularfile import FileReadError, read_regular_file
    from adf.runtime.data import parse_row

    raw = text.encode("utf-8", "surrogatepass")
    if text.startswith("@"):
        try:  # a FIFO or a device is refused, not waited on
            raw = read_regular_file(text[1:], _MAX_INPUT, what="--input file (one row)")
        except FileReadError as exc:
            raise WorkflowError(str(exc), 2) from None
        raw = raw.removeprefix(b"\xef\xbb\xbf").strip()
    row = parse_row(raw)
    if isinstance(row, str):
        raise WorkflowError(f"--input: {row}", 2)
    return row


async def _run(args: argparse.Namespace) -> int:
    from adf.cli._report import print_sample, sample_json, usage_line
    from adf.runtime.data import DataError
    from adf.runtime.engine import run_one

    row = read_row(args.input)
    workflow = load(args.file, use_lock=not args.no_lock)
    bindings = bind_functions(workflow)
    async with open_workflow(workflow.plan, run_options(args)) as opened:
        try:
            result = await run_one(opened.plan, row, opened.session.client, bindings=bindings)
        except DataError as exc:
            raise WorkflowError(f"--input: {exc}", 2) from None
        tally = opened.accounting.total
    if args.json:
        data = sample_json(result, trace=True)
        data["usage"] = tally.to_json()
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print_sample(result, verbose=args.verbose)
        print("\n" + usage_line(tally))
    return 1 if result.error is not None else 0
