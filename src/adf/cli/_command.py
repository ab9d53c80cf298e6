"""What `adfc run`, `eval`, `backward`, `cost`, `graph` and `serve` share on the command line.

Takes parsed arguments; gives the shared options (`add_model_arguments`,
`add_data_arguments`), the `RunOptions` they stand for, the workflow loaded
through `adf.workflow` with its diagnostics and lock-file notes printed on
stderr (`load`), and `run_command`, which runs a command's async body and
turns a `WorkflowError` into one line on stderr and its exit status (1
failed work or diagnostics, 2 usage or I/O) instead of a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from adf.cli._args import positive_int
from adf.cli._stream import print_diagnostics
from adf.workflow.errors import WorkflowError

if TYPE_CHECKING:
    from adf.runtime.data import DataSet
    from adf.workflow import Loaded, RunOptions


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    add_override_arguments(parser)
    parser.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                        help="samples and model calls in flight at once (default 8)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="seconds before one model call times out (default 120)")
    parser.add_argument("--trace", default=None, metavar="FILE.jsonl",
                        help="append one JSON line per model call to this file")


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """`--model`, `--api-base`, `--no-cache`, `--cache`, `--no-lock`."""
    parser.add_argument("--model", action="append", default=[], metavar="NAME=MODEL",
                        help="call declared model NAME with this litellm model (repeatable)")
    parser.add_argument("--api-base", action="append", default=[], metavar="NAME=URL",
                        help="send declared model NAME's calls to this URL (repeatable)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the reply cache (.adf/cache.sqlite)")
    parser.add_argument("--cache", default=None, metavar="PATH",
                        help="reply cache file (default: .adf/cache.sqlite)")
    parser.add_argument("--no-lock", action="store_true",
                        help="ignore FILE.lock (trained values); use the values in FILE")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="a .jsonl file, or a directory with train/val/test.jsonl "
                             "(default: the data/ folder next to FILE)")
    parser.add_argument("--split", default=None, metavar="NAME",
                        help="which split of a data directory (train, val, test)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="use only the first N rows")
    parser.add_argument("--strict-data", action="store_true",
                        help="stop at the first bad data row instead of skipping it")


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """`--executor`, `--workers`, `--rpm` where the command has them (see `_executor`)."""
    names = ("executor", "workers", "rpm")
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def run_options(args: argparse.Namespace) -> RunOptions:
    """The model options of `add_model_arguments` (or of `add_override_arguments`)."""
    from adf.workflow import RunOptions

    return RunOptions(
        models=tuple(args.model), api_bases=tuple(args.api_base), cache=args.cache,
        use_cache=not args.no_cache, concurrency=getattr(args, "concurrency", 8),
        timeout_s=getattr(args, "timeout", 120.0), trace=getattr(args, "trace", None),
        **executor_options(args),
    )


def run_command(name: str, work: Coroutine[Any, Any, int]) -> int:
    """Run a command's async body; an expected failure is one line on stderr and its status."""
    try:
        return asyncio.run(work)
    except WorkflowError as exc:
        print_error(name, exc)
        return exc.status


def print_error(name: str, exc: WorkflowError) -> None:
    if exc.details:
        print_diagnostics(exc.details)
    print(f"adfc {name}: {exc.message}", file=sys.stderr)


def load(path: str, *, use_lock: bool = True) -> Loaded:
    """The workflow at `path`; notes on its lock file go to stderr."""
    from adf.workflow import load_workflow

    workflow = load_workflow(path, use_lock=use_lock)
    lock = workflow.lock
    if lock is not None:
        for name, why in lock.stale:
            print(f"note: lock entry for {name!r} not applied: {why}", file=sys.stderr)
        if lock.applied:
            print(f"using trained values from {lock.path}: {', '.join(lock.applied)}",
                  file=sys.stderr)
    return workflow


def load_data(workflow: Loaded, args: argparse.Namespace) -> DataSet:
    """The rows named by `--data`/`--split`/`--limit`."""
    from adf.workflow import load_dataset

    return load_dataset(workflow, args.data, split=args.split, limit=args.limit,
                        strict=args.strict_data)


def write_output(name: str, path: str | None, text: str) -> int:
    """`text` to `path`, or to stdout without one; 0, or 2 after one line on stderr."""
    if path is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        print(f"adfc {name}: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
