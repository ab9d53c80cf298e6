"""`adfc cost FILE`: model calls, tokens and dollars, before spending any.

Takes a `.adf` source (or a compiled `.plan`), optionally data (a `.jsonl`
file or a directory with train/val/test splits: typical input sizes come from
it and the validation size from its `val` split) and the run's settings;
prints the estimate of `adf.analysis.cost` as a table, or as JSON with
`--format json`. Exit 0, 1 when the file does not compile, 2 for bad
arguments or unreadable files.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from adf.cli._args import fraction, positive_int, whole_number


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("--data", metavar="PATH",
                        help="a .jsonl file or a directory with train/val/test.jsonl")
    parser.add_argument("--split", default="train", help="split of a data directory to size inputs from")
    parser.add_argument("--steps", type=positive_int, default=4, metavar="N", help="training steps (4)")
    parser.add_argument("--batch", type=positive_int, default=4, metavar="N", help="minibatch size (4)")
    parser.add_argument("--val-size", type=positive_int, default=None, metavar="N",
                        help="validation samples (default: the data's val split, else 50)")
    parser.add_argument("--test-size", type=whole_number, default=None, metavar="N",
                        help="test samples, scored before and after (default: the data's test split, else 0)")
    parser.add_argument("--proposals", type=positive_int, default=3, metavar="N",
                        help="optimizer proposals per prompt parameter and step (3)")
    parser.add_argument("--demo-proposals", type=whole_number, default=1, metavar="N",
                        help="demo-set proposals per demos parameter and step (1)")
    parser.add_argument("--fail-rate", type=fraction, default=0.5, metavar="F",
                        help="share of samples that fail and get a backward pass (0.5)")
    parser.add_argument("--no-prices", action="store_true", help="skip the dollar estimate")
    parser.add_argument("--cache", metavar="PATH",
                        help="reply cache whose token history sizes the calls (default .adf/cache.sqlite)")
    parser.add_argument("--no-cache", action="store_true",
                        help="size calls from the program alone, not from the cache's history")
    parser.add_argument("--format", choices=("human", "json"), default="human")


def execute(args: argparse.Namespace) -> int:
    from adf.analysis.cost import RunSettings, estimate_cost
    from adf.cli._command import load, print_error
    from adf.workflow import WorkflowError
    from adf.workflow.models import RunOptions, token_history

    try:
        workflow = load(args.file)
        rows, counts = _read_data(args.data, args.split) if args.data else (None, {})
        history = token_history(workflow.plan,
                                RunOptions(cache=args.cache, use_cache=not args.no_cache))
    except WorkflowError as exc:
        print_error("cost", exc)
        return exc.status
    val_size = args.val_size if args.val_size is not None else counts.get("val", 50)
    test_size = args.test_size if args.test_size is not None else counts.get("test", 0)
    settings = RunSettings(
        steps=args.steps, batch=args.batch, val_size=val_size, test_size=test_size,
        proposals=args.proposals, demo_proposals=args.demo_proposals, fail_rate=args.fail_rate,
    )
    estimate = estimate_cost(workflow.plan, data_rows=rows, settings=settings,
                             pricing=not args.no_prices, history=history)
    if args.format == "json":
        print(json.dumps(to_json(estimate), indent=2))
    else:
        from adf.analysis.costreport import render_cost

        print(render_cost(estimate, args.file), end="")
    return 0


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
    from adf.workflow import WorkflowError

    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # `adfc eval` reports bad rows; sizes only need the good ones
                if isinstance(row, dict):
                    rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", 2) from None
    return rows


