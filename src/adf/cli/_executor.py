"""`--executor local|ray[=ADDRESS]`, `--workers N`, `--rpm N` for `adfc eval` and `train`.

Takes a parser (adds the options) or the parsed options (checks them: `--workers`
and `--rpm` only mean something on Ray); the executor itself is opened by
`adf.scale.open_executor`, which imports Ray only when asked for.
"""

from __future__ import annotations

import argparse

from adf.cli._args import positive_int
from adf.runtime.executor import ExecutorSpec, SpecError


def executor_spec(text: str) -> ExecutorSpec:
    try:
        return ExecutorSpec.parse(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("executor")
    group.add_argument("--executor", type=executor_spec, default=ExecutorSpec(),
                       metavar="local|ray[=ADDRESS]",
                       help="where forward passes run: here (local, the default) or on Ray "
                            "workers: ray starts a local instance, ray=ADDRESS joins a cluster "
                            "(needs adf[ray]; see docs/scale.md)")
    group.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="with --executor ray: shards in flight at once (default: the "
                            "cluster's CPUs; also the CPUs of a local instance)")
    group.add_argument("--rpm", type=positive_int, default=None, metavar="N",
                       help="with --executor ray: at most N requests per minute per model "
                            "endpoint, all workers together")


def executor_problem(args: argparse.Namespace) -> str | None:
    """Why the executor options do not fit together, or None."""
    if args.executor.is_local:
        for flag in ("workers", "rpm"):
            if getattr(args, flag) is not None:
                return f"--{flag} needs --executor ray"
    return None
