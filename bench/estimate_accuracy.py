"""Forecast vs actual: the cost estimator against real training runs on the fake model.

For every example under `examples/` (or those named), trains it with
`adfc train` on the fake OpenAI server (every model of the example pointed
at it as `openai/gpt-4o-mini`, so requests carry the JSON schemas a hosted
model would get) and compares the run's own forecast, the one
`adfc train --dry-run` prints (kept in report.json as `estimate`), with
the usage the run actually had (`usage`: logical calls and tokens).

Each example is trained twice with one reply cache: `cold` (an empty
cache: the forecast knows only the program, the data and the settings) and
`warm` (a second run with another seed, after the first: the forecast
reads the first run's token history from the cache). Printed per example and
run: forecast and actual calls and tokens and their ratio; the bar is
|forecast / actual - 1| <= 25%.

The fake model answers every request from its content (a hash picks each
typed value), so about half the samples fail, candidates score differently
from the current values, and the gate sees wins, ties and losses as on a
real model. Replies are short (a few tokens), as a small model's often are.

With `--seeds K`, each example is also trained with seeds 2..K+1, each on
an empty cache, and the spread of the actual calls and tokens over all its
seeds is printed: how far runs on the same settings differ from each other,
which bounds how close any one forecast can be to all of them.

Run: `python bench/estimate_accuracy.py [--steps 2] [--examples gsm8k sst5] [--seeds 4]`
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_API_KEY", "fake")

from adf.cli.main import main
from adf.testing.fake_server import FakeServer
from adf.testing.hashmodel import respond

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
def _models(program: Path) -> list[str]:
    return re.findall(r"^model\s+(\w+)\s*=", program.read_text(encoding="utf-8"), re.M)


def train_once(program: Path, url: str, work: Path, name: str, seed: int,
               args: argparse.Namespace) -> dict[str, Any]:
    out = work / name
    copy = work / "program"
    if not copy.exists():  # a copy: the lock files a run writes stay out of examples/
        shutil.copytree(program.parent, copy)
    argv = ["train", str(copy / program.name), "--steps", str(args.steps), "--batch-size", "4",
            "--proposals", "2", "--demo-proposals", "1", "--seed", str(seed),
            "--train-limit", "24", "--val-limit", str(args.val), "--test-limit", str(args.test),
            "--out", str(out), "--no-lock", "--force", "--quiet", "--cache", str(work / "cache.sqlite")]
    for model in _models(program):
        argv += ["--model", f"{model}=openai/gpt-4o-mini", "--api-base", f"{model}={url}"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"{program.name}: adfc train exited {code}")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    estimate, usage = report["estimate"], report["usage"]
    return {"forecast_calls": estimate["calls"], "actual_calls": usage["calls"],
            "forecast_tokens": estimate["tokens"], "actual_tokens": usage["tokens"],
            # a report of an older adf may lack the range: its point stands for both ends
            "calls_low": estimate.get("calls_low", estimate["calls"]),
            "calls_high": estimate.get("calls_high", estimate["calls"]),
            "tokens_low": estimate.get("tokens_low", estimate["tokens"]),
            "tokens_high": estimate.get("tokens_high", estimate["tokens"])}


def label(program: Path) -> str:
    """The example's folder, or the program's name where a folder holds several."""
    return program.stem if len(list(program.parent.glob("*.adf"))) > 1 else program.parent.name


def _ratio(forecast: int, actual: int) -> float:
    return forecast / actual if actual else float("inf")


def _within(got: dict[str, Any], what: str) -> bool:
    return bool(got[f"{what}_low"] <= got[f"actual_{what}"] <= got[f"{what}_high"])


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--val", type=int, default=12)
    parser.add_argument("--test", type=int, default=8)
    parser.add_argument("--examples", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, default=0, metavar="K",
                        help="also train seeds 2..K+1 (empty caches) and print the spread")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    programs = sorted(p for p in EXAMPLES.glob("*/*.adf")
                      if args.examples is None or p.parent.name in args.examples
                      or p.stem in args.examples)
    rows: list[dict[str, Any]] = []
    spreads: list[dict[str, Any]] = []
    print(f"{'example':<16} {'run':<5} {'calls f/a':>11} {'ratio':>5} {'calls range':>11} in "
          f"{'tokens f/a':>15} {'ratio':>5} {'tokens range':>17} in  spread")
    with FakeServer(respond) as server, tempfile.TemporaryDirectory() as tmp:
        for program in programs:
            name = label(program)
            work = Path(tmp) / name
            first = 0
            for run, seed in (("cold", 0), ("warm", 1)):
                got = train_once(program, server.base_url, work, run, seed, args)
                calls = _ratio(got["forecast_calls"], got["actual_calls"])
                tokens = _ratio(got["forecast_tokens"], got["actual_tokens"])
                # the same settings, another seed: how far the second run's calls are from the first's
                spread = _ratio(got["actual_calls"], first) if first else None
                first = first or got["actual_calls"]
                row = {"example": name, "run": run, **got, "calls_ratio": round(calls, 3),
                       "tokens_ratio": round(tokens, 3), "calls_in": _within(got, "calls"),
                       "tokens_in": _within(got, "tokens"),
                       "spread": None if spread is None else round(spread, 3)}
                rows.append(row)
                print(f"{name:<16} {run:<5} "
                      f"{got['forecast_calls']:>5}/{got['actual_calls']:<5} {calls:>5.2f} "
                      f"{got['calls_low']:>5}-{got['calls_high']:<5} {'yes' if row['calls_in'] else 'no ':3}"
                      f"{got['forecast_tokens']:>7}/{got['actual_tokens']:<7} {tokens:>5.2f} "
                      f"{got['tokens_low']:>8}-{got['tokens_high']:<8} {'yes' if row['tokens_in'] else 'no ':3}"
                      f" {'' if spread is None else f'{spread:.2f}'}")
                sys.stdout.flush()
            if args.seeds:
                runs = [(r["actual_calls"], r["actual_tokens"]) for r in rows[-2:]]
                runs += [(got["actual_calls"], got["actual_tokens"]) for got in (
                    train_once(program, server.base_url, work / f"seed{seed}", "run", seed, args)
                    for seed in range(2, args.seeds + 2))]
                calls, tokens = [c for c, _ in runs], [t for _, t in runs]
                spreads.append({"example": name, "calls": calls, "tokens": tokens})
                print(f"{name:<16} seeds 0-{args.seeds + 1}: calls {min(calls)}-{max(calls)} "
                      f"(x{max(calls) / min(calls):.2f}), tokens {min(tokens)}-{max(tokens)} "
                      f"(x{max(tokens) / min(tokens):.2f}); one forecast can be within 25% of "
                      f"every run only up to x{1.25 / 0.75:.2f}")
    for run in ("cold", "warm"):
        mine = [r for r in rows if r["run"] == run]
        near = [r for r in mine if abs(r["calls_ratio"] - 1) <= 0.25]
        both = [r for r in near if abs(r["tokens_ratio"] - 1) <= 0.25]
        print(f"{run}: point within 25%: calls {len(near)}/{len(mine)}, calls and tokens "
              f"{len(both)}/{len(mine)}; actual inside the range: calls "
              f"{sum(r['calls_in'] for r in mine)}/{len(mine)}, tokens "
              f"{sum(r['tokens_in'] for r in mine)}/{len(mine)}")
    wide = [r["example"] for r in rows if r["spread"] is not None and abs(r["spread"] - 1) > 0.25]
    print(f"second run's calls more than 25% from the first's on the same settings: "
          f"{', '.join(wide) or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": rows, "seeds": spreads} if args.seeds
                                              else rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
