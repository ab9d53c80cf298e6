"""`adfc eval FILE --data PATH`: score a workflow on a data set.

Takes a `.adf` or `.plan`, a jsonl file (or a directory plus `--split`) and
run options; prints the score, per-loss scores, how many samples were
correct, wrong or failed (with reasons), model calls, tokens, cost, cache
hits and retries, with a progress bar on a terminal. `--json` prints one
machine-readable object instead. `--executor ray[=ADDRESS]` runs the
samples on Ray workers (docs/scale.md). Exit status: 0 when the evaluation ran
(whatever the score, unless `--fail-under` is given), 1 when the workflow
does not compile, its code cannot be loaded or the model is unreachable,
2 for usage or unreadable files.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from adf.cli._args import fraction
from adf.cli._command import (
    load,
    load_data,
    plural,
    run_command,
    run_options,
)
from adf.cli._executor import add_executor_arguments
from adf.cli._options import add_data_arguments, add_model_arguments, add_show_argument
from adf.workflow import WorkflowError, bind_functions, open_workflow
from adf.workflow.executor import check_executor, open_run_executor


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_data_arguments(parser)
    add_executor_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    add_show_argument(parser, "failed and N wrong samples")
    parser.add_argument("--fail-under", type=fraction, default=None, metavar="SCORE",
                        help="exit with status 1 when the score is below SCORE")


def execute(args: argparse.Namespace) -> int:
    return run_command("eval", _eval(args))


async def _eval(args: argparse.Namespace) -> int:
    from adf.cli._report import eval_json, print_eval
    from adf.runtime.engine import ModelUnavailable, evaluate

    workflow = load(args.file, use_lock=not args.no_lock)
    dataset = load_data(workflow, args)
    bindings = bind_functions(workflow)
    if not dataset.samples:
        raise WorkflowError(f"{dataset.path}: no usable rows "
                       f"({plural(len(dataset.bad_rows), 'bad row')})", 1)
    options = run_options(args)
    check_executor(options)
    async with open_workflow(workflow.plan, options) as opened:
        with _progress(len(dataset.samples), enabled=not args.json) as advance:
            try:
                with open_run_executor(opened, options, workflow.base_dir) as executor:
                    result = await evaluate(
                        opened.plan, dataset.samples, opened.session.client,
                        bindings=bindings, concurrency=args.concurrency, on_sample=advance,
                        executor=executor,
                    )
            except ModelUnavailable as exc:
                raise WorkflowError(f"model unavailable: {exc.reason}", 1) from None
        tally = opened.accounting.total
    result = _with_bad_rows(result, dataset.bad_rows)
    if args.json:
        summary: dict[str, Any] = eval_json(result, tally, file=args.file, data=dataset.path)
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        print_eval(result, tally, file=args.file, data=dataset.path, show=args.show)
    if args.fail_under is not None and (result.score or 0.0) < args.fail_under:
        return 1
    return 0


def _with_bad_rows(result: Any, bad_rows: Any) -> Any:
    import attrs

    return attrs.evolve(result, bad_rows=tuple(bad_rows))


class _progress:
    """A rich progress bar on stderr when it is a terminal; a no-op otherwise."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda _result: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("samples", total=self.total)
        return lambda _result: self._progress.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
