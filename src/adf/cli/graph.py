"""`adfc graph FILE`: draw the unrolled graph as DOT, SVG or a self-contained HTML page.

Takes a `.adf` source (or a compiled `.plan`); writes the drawing to stdout or
`-o OUT`. The format is `--format`, else guessed from OUT's extension
(`.html`, `.svg`, `.dot`), else DOT. The gradient-reachable subgraph is
highlighted. `--trace FILE` (the JSON of `adfc run --json`, or a `--trace`
call log of `adfc run`, `eval` or `train`) draws the path one sample took:
taken nodes and edges thick and green, untaken branches and the steps after
an early exit dashed and grey; `--sample ID` picks the sample of a call log
(default: its first). Exit 0, 1 when the file does not compile or the trace
does not fit it, 2 for I/O errors.
"""

from __future__ import annotations

import argparse
import sys

MAX_TRACE_BYTES = 256_000_000  # a trace is one line per model call
_EXTENSIONS = {".html": "html", ".htm": "html", ".svg": "svg", ".dot": "dot", ".gv": "dot"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("--format", choices=("dot", "html", "svg"), default=None,
                        help="output format (default: from -o's extension, else dot)")
    parser.add_argument("-o", "--output", metavar="OUT", default=None, help="write here instead of stdout")
    parser.add_argument("--trace", metavar="FILE", default=None,
                        help="highlight the path a sample took: `adfc run --json` output or a --trace call log")
    parser.add_argument("--sample", metavar="ID", default=None,
                        help="the sample of the call log to draw (default: the first)")


def execute(args: argparse.Namespace) -> int:
    from adf.analysis.drawing import build_drawing
    from adf.cli._command import load, print_error, write_output
    from adf.workflow import WorkflowError

    try:
        workflow = load(args.file)
    except WorkflowError as exc:
        print_error("graph", exc)
        return exc.status
    fmt = args.format or _guess(args.output)
    path = None
    if args.trace is not None:
        from adf.analysis.takenpath import TraceError, taken_path
        from adf.plan.regularfile import FileReadError, read_regular_file

        try:
            text = read_regular_file(args.trace, MAX_TRACE_BYTES, what="trace").decode("utf-8")
        except (FileReadError, UnicodeDecodeError) as exc:
            print(f"adfc graph: cannot read the trace {args.trace}: {exc}", file=sys.stderr)
            return 2
        try:
            path = taken_path(workflow.plan, text, args.sample)
        except TraceError as exc:
            print(f"adfc graph: {args.trace}: {exc}", file=sys.stderr)
            return 1
    drawing = build_drawing(workflow.plan, path)
    if fmt == "html":
        from adf.analysis.html import render_html

        text = render_html(drawing)
    elif fmt == "svg":
        from adf.analysis.svg import render_svg

        text = render_svg(drawing)
    else:
        from adf.analysis.dot import render_dot

        text = render_dot(drawing)
    return write_output("graph", args.output, text)


def _guess(output: str | None) -> str:
    if output is None:
        return "dot"
    for extension, fmt in _EXTENSIONS.items():
        if output.lower().endswith(extension):
            return fmt
    return "dot"
