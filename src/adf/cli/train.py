"""`adfc train FILE`: train a workflow's parameters on its data.

Takes the `.adf` path and options (data splits and limits, steps, batch
size, proposals, seed, budgets, model overrides, run folder); gives a run
folder with `checkpoint.json`, `report.json` and `report.html`, a lock file
`FILE.lock` next to the source holding the trained values (when any value
changed), and with `--write` the trained literals written into the source.
`--dry-run` prints the forecast of calls, tokens and dollars and stops.
`--resume` continues the latest run of this file (or `--out DIR`) exactly
where its last checkpoint left it. `--executor ray[=ADDRESS]` scores the
validation, minibatch and test samples on Ray workers; backward and
optimizer calls stay here. Ctrl-C keeps the last checkpoint and
says how to resume. Exit status: 0 done (also when a budget stopped the
run), 1 diagnostics or failed training, 2 usage or I/O error, 130 interrupted.

Heavy modules (the runtime, litellm) are imported inside `execute`.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from adf.cli._executor import add_executor_arguments, executor_problem


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the .adf program to train")
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="DIR", help="data folder (default: data/ next to FILE)")
    data.add_argument("--train-split", default="train", metavar="NAME")
    data.add_argument("--val-split", default="val", metavar="NAME")
    data.add_argument("--test-split", default="test", metavar="NAME")
    data.add_argument("--train-limit", type=int, metavar="N")
    data.add_argument("--val-limit", type=int, metavar="N")
    data.add_argument("--test-limit", type=int, metavar="N", help="0 skips the test split")
    run = parser.add_argument_group("training")
    run.add_argument("--steps", type=int, default=4, metavar="N")
    run.add_argument("--batch-size", type=int, default=4, metavar="N")
    run.add_argument("--proposals", type=int, default=3, metavar="K",
                     help="optimizer proposals per prompt parameter per step")
    run.add_argument("--demo-proposals", type=int, default=1, metavar="K")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threshold", type=float, default=0.9,
                     help="a sample scoring below this is an error (gets backward calls)")
    run.add_argument("--accept-ties", action="store_true",
                     help="accept a proposal that ties on validation after a minibatch gain")
    run.add_argument("--concurrency", type=int, default=8, metavar="N")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--max-steps", type=int, metavar="N")
    budget.add_argument("--max-calls", type=int, metavar="N",
                        help="never make more than N model calls (cache hits count)")
    budget.add_argument("--max-tokens", type=int, metavar="N")
    budget.add_argument("--max-usd", type=float, metavar="X")
    out = parser.add_argument_group("output")
    out.add_argument("--dry-run", action="store_true", help="print the cost forecast and stop")
    out.add_argument("--resume", action="store_true", help="continue the last run (or --out DIR)")
    out.add_argument("--write", action="store_true",
                     help="rewrite the trained literals in FILE (comments are kept)")
    out.add_argument("--out", metavar="DIR", help="run folder (default: runs/NAME-TIMESTAMP)")
    out.add_argument("--no-lock", action="store_true", help="ignore FILE.lock; start from FILE")
    out.add_argument("--quiet", action="store_true", help="no per-step progress")
    models = parser.add_argument_group("models")
    models.add_argument("--model", action="append", default=[], metavar="NAME=MODEL")
    models.add_argument("--api-base", action="append", default=[], metavar="NAME=URL")
    models.add_argument("--no-cache", action="store_true", help="do not read or write the reply cache")
    models.add_argument("--cache", metavar="PATH", help="reply cache file (default .adf/cache.sqlite)")
    add_executor_arguments(parser)


def _fail(message: str, status: int = 2) -> int:
    print(f"adfc train: {message}", file=sys.stderr)
    return status


def _check_numbers(args: argparse.Namespace) -> str | None:
    for name in ("steps", "batch_size", "proposals", "concurrency"):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1"
    for name in ("max_steps", "max_calls", "max_tokens", "train_limit", "val_limit", "test_limit"):
        value = getattr(args, name)
        if value is not None and value < 0:
            return f"--{name.replace('_', '-')} must not be negative"
    if args.max_usd is not None and args.max_usd < 0:
        return "--max-usd must not be negative"
    if args.demo_proposals < 0:
        return "--demo-proposals must not be negative"
    return None


def execute(args: argparse.Namespace) -> int:
    problem = _check_numbers(args)
    if problem:
        return _fail(problem)
    problem = executor_problem(args)
    if problem:
        return _fail(problem)
    path = args.file
    if not os.path.isfile(path):
        return _fail(f"cannot read {path}: no such file")
    from adf.optim import session as support

    compiled = support.compile_program(path)
    if isinstance(compiled, str):
        print(compiled, file=sys.stderr)
        return 1
    base_plan = compiled
    if not [p for p in base_plan.params if not p.frozen]:
        return _fail(f"{path} declares no trainable parameter: nothing to train", 1)
    try:
        return support.train(args, path, base_plan)
    except support.UsageError as exc:
        return _fail(str(exc))


def latest_run(stem: str, root: str = "runs") -> str | None:
    """The most recent run folder of `stem` that holds a checkpoint."""
    candidates = sorted(glob.glob(os.path.join(root, f"{stem}-*")))
    with_checkpoint = [c for c in candidates if os.path.isfile(os.path.join(c, "checkpoint.json"))]
    return with_checkpoint[-1] if with_checkpoint else None


def new_run_dir(stem: str, root: str = "runs") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(root, f"{stem}-{stamp}")
    candidate, n = base, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def format_event(kind: str, data: Mapping[str, Any], steps: int) -> str | None:
    def f(value: Any) -> str:
        return "–" if value is None else f"{value:.3f}"

    if kind == "setup":
        return f"[bold]start[/]  val {f(data.get('val'))}  test {f(data.get('test'))}"
    if kind == "step":
        cost = data.get("cost_usd") or 0.0
        dollars = f"  ${cost:.4f}" if cost else ""
        stopped = f"  [yellow]{data['stopped']}[/]" if data.get("stopped") else ""
        return (f"[bold]step {data['step']}/{steps}[/]  train {f(data.get('train_score'))}  "
                f"val {f(data.get('val_score'))}  "
                f"[green]accepted {data.get('accepted', 0)}[/] "
                f"[red]rejected {data.get('rejected', 0)}[/]  "
                f"calls {data.get('calls', 0)}  tokens {data.get('tokens', 0)}{dollars}{stopped}")
    if kind == "proposal":
        verdict = data.get("verdict", "")
        colour = "green" if verdict == "accepted" else "red"
        return (f"   {data.get('param')} #{data.get('attempt')}: [{colour}]{verdict}[/] "
                f"({data.get('rejection', '') + ': ' if verdict != 'accepted' else ''}"
                f"{data.get('reason', '')})")
    if kind == "stopped":
        return f"[yellow]budget reached:[/] {data.get('reason')}"
    if kind == "final":
        return f"[bold]end[/]  val {f(data.get('val'))}  test {f(data.get('test'))}"
    return None
