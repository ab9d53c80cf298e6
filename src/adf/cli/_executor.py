"""`--executor local|ray[=ADDRESS]`, `--workers N`, `--rpm N` for `adfc eval` and `train`.

Takes a parser; adds the options. They travel in `RunOptions`; the workflow
layer checks them and opens the executor (`adf.workflow.executor`), importing
Ray only when asked for.
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
