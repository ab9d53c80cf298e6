"""Every option the sub-commands share, declared once, and the records they build.

Takes a parser (or parsed arguments); gives the option blocks and what they
stand for:

- `add_model_arguments` (FILE, overrides, `--concurrency`, `--timeout`,
  `--trace`: `adfc run`, `eval`, `backward`), `add_override_arguments`
  (`--model`, `--api-base`, the cache and the lock: also `train`, `serve`),
  `add_cache_arguments` (`--cache`, `--no-cache`: also `cost`),
  `add_lock_argument`, `add_data_arguments` (`--data`, `--split`, `--limit`,
  `--strict-data` of `eval` and `backward`), `add_threshold_argument`;
- `add_training_arguments` (steps, batch, proposals, seed, gate, strategy,
  concurrency; the budgets; the splits and their limits): `adfc train` and
  `adfc cost` take the same training options, so a forecast is asked for
  with the very flags of the run it describes;
- `train_settings` and `data_settings`: the one place the command line
  becomes `adf.plan.settings.TrainSettings` and `DataSettings`.

Ranges are checked by `adf.plan.settings.problem` (the check the Python API
runs too), so a bad value reads the same from either.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from adf.cli._args import positive_int, seconds
from adf.plan.settings import STRATEGIES

if TYPE_CHECKING:
    from adf.plan.settings import DataSettings, TrainSettings

Parser = argparse.ArgumentParser | argparse._ArgumentGroup


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    add_override_arguments(parser)
    add_concurrency_argument(parser, "samples and model calls in flight at once (default 8)")
    add_timeout_argument(parser, 120.0)
    parser.add_argument("--trace", default=None, metavar="FILE.jsonl",
                        help="append one JSON line per model call to this file")


def add_override_arguments(parser: Parser) -> None:
    """`--model`, `--api-base`, `--no-cache`, `--cache`, `--no-lock`."""
    parser.add_argument("--model", action="append", default=[], metavar="NAME=MODEL",
                        help="call declared model NAME with this litellm model (repeatable)")
    parser.add_argument("--api-base", action="append", default=[], metavar="NAME=URL",
                        help="send declared model NAME's calls to this URL (repeatable)")
    add_cache_arguments(parser)
    add_lock_argument(parser)


def add_cache_arguments(parser: Parser) -> None:
    """`--cache PATH`, `--no-cache`: the reply cache (and the token history it keeps)."""
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the reply cache (.adf/cache.sqlite), nor "
                        "size forecasts from its history")
    parser.add_argument("--cache", default=None, metavar="PATH",
                        help="reply cache file (default: .adf/cache.sqlite)")


def add_lock_argument(parser: Parser) -> None:
    parser.add_argument("--no-lock", action="store_true",
                        help="ignore FILE.lock (trained values); use the values in FILE")


def add_concurrency_argument(parser: Parser, help: str) -> None:
    parser.add_argument("--concurrency", type=positive_int, default=8, metavar="N", help=help)


def add_timeout_argument(parser: Parser, default: float) -> None:
    parser.add_argument("--timeout", type=seconds, default=default, metavar="S",
                        help=f"seconds before one model call times out (default {default:g})")


def add_threshold_argument(parser: Parser, help: str) -> None:
    parser.add_argument("--threshold", type=float, default=0.9, metavar="SCORE", help=help)


def add_show_argument(parser: Parser, what: str) -> None:
    parser.add_argument("--show", type=int, default=10, metavar="N",
                        help=f"list at most N {what} (default 10)")


def add_strict_data_argument(parser: Parser) -> None:
    parser.add_argument("--strict-data", action="store_true",
                        help="stop at the first bad data row instead of skipping it")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="a .jsonl file, or a directory with train/val/test.jsonl "
                             "(default: the data/ folder next to FILE)")
    parser.add_argument("--split", default=None, metavar="NAME",
                        help="which split of a data directory (train, val, test)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="use only the first N rows")
    add_strict_data_argument(parser)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The settings of a training run: `adfc train`'s and `adfc cost`'s."""
    data = parser.add_argument_group("data splits")
    data.add_argument("--train-split", default="train", metavar="NAME")
    data.add_argument("--val-split", default="val", metavar="NAME")
    data.add_argument("--test-split", default="test", metavar="NAME")
    data.add_argument("--train-limit", type=int, metavar="N")
    data.add_argument("--val-limit", "--val-size", type=int, metavar="N",
                      help="validation samples at most (default: the whole val split)")
    data.add_argument("--test-limit", "--test-size", type=int, metavar="N",
                      help="test samples at most, scored before and after; 0 skips the split")
    add_strict_data_argument(data)
    run = parser.add_argument_group("training")
    run.add_argument("--steps", type=int, default=4, metavar="N", help="training steps (4)")
    run.add_argument("--batch-size", "--batch", type=int, default=4, metavar="N",
                     help="minibatch size (4)")
    run.add_argument("--proposals", type=int, default=3, metavar="K",
                     help="optimizer proposals per prompt parameter per step (3; 0: prompts "
                     "stay as written, no backward call is made, only demo sets train)")
    run.add_argument("--demo-proposals", type=int, default=1, metavar="K",
                     help="demo-set proposals per demos parameter per step (1)")
    run.add_argument("--seed", type=int, default=0)
    add_threshold_argument(run, "a sample scoring below this is an error (gets backward calls)")
    run.add_argument("--partial-credit", type=float, default=0.5, metavar="F",
                     help="a score from F up to --threshold is partial credit: such samples "
                     "are drawn for feedback only when too few score below F (0.5)")
    run.add_argument("--accept-ties", action="store_true",
                     help="accept a proposal that ties on validation after a minibatch gain")
    run.add_argument("--strategy", choices=STRATEGIES, default=STRATEGIES[0],
                     help="how proposals are gated: joint (default) tries one proposal per "
                     "prompt together, then each alone; sequential gates each prompt in turn; "
                     "pool is joint plus the best validated candidates kept across steps, "
                     "going back to one when the current path stalls")
    run.add_argument("--candidates", type=int, default=4, metavar="K",
                     help="with --strategy pool: validated candidates kept across steps (4)")
    run.add_argument("--fill-batches", type=int, default=1, metavar="N",
                     help="extra batches a step forwards while none of its samples failed, so "
                     "an all-correct batch still leads to a proposal (1; 0 turns it off)")
    run.add_argument("--minibatch-strict", action="store_true",
                     help="a proposal must gain on the minibatch to be validated (default: a "
                     "tie earns validation too)")
    add_concurrency_argument(run, "samples and model calls in flight at once (8)")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--max-steps", type=int, metavar="N")
    budget.add_argument("--max-calls", type=int, metavar="N",
                        help="never send more than N requests to providers (retries count, "
                        "cache hits do not)")
    budget.add_argument("--max-tokens", type=int, metavar="N")
    budget.add_argument("--max-usd", type=float, metavar="X")


def train_settings(args: argparse.Namespace) -> TrainSettings:
    """The options of `add_training_arguments` as the trainer's settings."""
    from adf.plan.settings import Limits, TrainSettings

    return TrainSettings(
        steps=args.steps, batch_size=args.batch_size, proposals=args.proposals,
        demo_proposals=args.demo_proposals, seed=args.seed, threshold=args.threshold,
        partial_credit=args.partial_credit, concurrency=args.concurrency,
        accept_ties=args.accept_ties, strategy=args.strategy, candidates=args.candidates,
        fill_batches=args.fill_batches, minibatch_strict=args.minibatch_strict,
        limits=Limits(max_steps=args.max_steps, max_calls=args.max_calls,
                      max_tokens=args.max_tokens, max_usd=args.max_usd),
    )


def data_settings(args: argparse.Namespace, folder: str | None) -> DataSettings:
    """The data options of `add_training_arguments`, reading `folder`."""
    from adf.plan.settings import DataSettings

    return DataSettings(
        folder=folder, train_split=args.train_split, val_split=args.val_split,
        test_split=args.test_split, train_limit=args.train_limit, val_limit=args.val_limit,
        test_limit=args.test_limit, strict_data=args.strict_data,
    )
