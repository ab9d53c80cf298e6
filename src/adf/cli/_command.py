"""What `adfc run`, `eval`, `backward`, `cost`, `graph` and `serve` share on the command line.

Takes parsed arguments; gives the `RunOptions` that the shared options of
`adf.cli._options` stand for, the workflow loaded
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

from adf.cli._stream import print_diagnostics
from adf.workflow.errors import WorkflowError

if TYPE_CHECKING:
    from adf.runtime.data import DataSet
    from adf.workflow import Loaded, RunOptions


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """`--executor`, `--workers`, `--rpm` where the command has them (see `_executor`)."""
    names = ("executor", "workers", "rpm")
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def run_options(args: argparse.Namespace) -> RunOptions:
    """The model options of `_options.add_model_arguments` (or `add_override_arguments`)."""
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
