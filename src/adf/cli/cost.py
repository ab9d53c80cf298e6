"""`adfc cost FILE`: model calls, tokens and dollars, before spending any.

Takes a `.adf` source (or a compiled `.plan`), optionally data (a `.jsonl`
file or a directory with train/val/test splits: typical input sizes come from
it and the validation and test sizes from its splits) and the training
options of `adfc train`, declared once in `adf.cli._options` (`--val-size`
and `--test-size` are `--val-limit` and `--test-limit`), and `--fail-rate`;
prints the estimate of `adf.analysis.cost` as a table, or as JSON with
`--format json`. Exit 0, 1 when the file does not compile, 2 for bad
arguments or unreadable files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from adf.cli._args import fraction
from adf.cli._options import (
    add_cache_arguments,
    add_training_arguments,
    data_settings,
    train_settings,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("--data", metavar="PATH",
                        help="a .jsonl file or a directory with train/val/test.jsonl")
    parser.add_argument("--split", default="train", help="split of a data directory to size inputs from")
    add_training_arguments(parser)
    parser.add_argument("--fail-rate", type=fraction, default=0.5, metavar="F",
                        help="share of samples that fail and get a backward pass (0.5)")
    parser.add_argument("--no-prices", action="store_true", help="skip the dollar estimate")
    add_cache_arguments(parser)
    parser.add_argument("--format", choices=("human", "json"), default="human")


def execute(args: argparse.Namespace) -> int:
    from adf.analysis.cost import Scenario, estimate_cost
    from adf.analysis.costhistory import Rates
    from adf.cli._command import load, print_error
    from adf.plan.settings import problem
    from adf.workflow import WorkflowError
    from adf.workflow.models import RunOptions, token_history

    settings, data = train_settings(args), data_settings(args, args.data)
    wrong = problem(settings, data)
    if wrong is not None:
        print(f"adfc cost: {wrong}", file=sys.stderr)
        return 2
    try:
        workflow = load(args.file)
        rows, counts = _read_data(args.data, args.split) if args.data else (None, {})
        history = token_history(workflow.plan,
                                RunOptions(cache=args.cache, use_cache=not args.no_cache))
    except WorkflowError as exc:
        print_error("cost", exc)
        return exc.status
    scenario = Scenario(settings, val_size=_size(counts.get("val"), data.val_limit, 50),
                        test_size=_size(counts.get("test"), data.test_limit, 0),
                        rates=Rates(fail_rate=args.fail_rate))
    estimate = estimate_cost(workflow.plan, data_rows=rows, settings=scenario,
                             pricing=not args.no_prices, history=history)
    if args.format == "json":
        print(json.dumps(to_json(estimate), indent=2))
    else:
        from adf.analysis.costreport import render_cost

        print(render_cost(estimate, args.file), end="")
    return 0


def _size(rows: int | None, limit: int | None, default: int) -> int:
    """A split's size: its rows up to `limit`; without data, `limit` or `default`."""
    if rows is None:
        return default if limit is None else limit
    return rows if limit is None else min(rows, limit)


def to_json(estimate: Any) -> dict[str, Any]:
    import attrs

    from adf.llm.usage import Usage

    def convert(value: Any) -> Any:
        if isinstance(value, Usage):
            return {**attrs.asdict(value), "tokens": value.tokens}
        if attrs.has(type(value)):
            return {f.name: convert(getattr(value, f.name)) for f in attrs.fields(type(value))}
        if isinstance(value, tuple | list):
            return [convert(v) for v in value]
        return value

    result: dict[str, Any] = convert(estimate)
    return result


def _read_data(path: str, split: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows to size inputs from, and the sizes of a data directory's val and test splits."""
    from adf.workflow import WorkflowError

    counts: dict[str, int] = {}
    if not os.path.exists(path):
        raise WorkflowError(f"cannot read {path}: no such file or directory", 2)
    if os.path.isdir(path):
        for name in ("val", "test"):
            other = os.path.join(path, f"{name}.jsonl")
            if os.path.isfile(other):
                counts[name] = len(_rows(other))
        path = os.path.join(path, f"{split}.jsonl")
        if not os.path.isfile(path):
            raise WorkflowError(f"cannot read {path}: no such file", 2)
    return _rows(path), counts


def _rows(path: str) -> list[dict[str, Any]]:
    from adf.runtime.data import DataError, json_rows
    from adf.workflow import WorkflowError

    try:
        return json_rows(path)  # `adfc eval` reports bad rows; sizes only need the good ones
    except DataError as exc:
        raise WorkflowError(str(exc), 2) from None


