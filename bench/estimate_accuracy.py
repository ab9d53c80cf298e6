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

Run: `python bench/estimate_accuracy.py [--steps 2] [--examples gsm8k sst5]`
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
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
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_KEYS = re.compile(r"exactly these keys: (.*)")
_CURRENT = re.compile(r"<current>\n(.*?)\n</current>", re.S)
_EDITS = ("Be precise.", "Check each step.", "Answer briefly.", "Read the input twice.")


def _pick(request: Request, salt: str, n: int) -> int:
    body = json.dumps(request.get("messages", []), sort_keys=True) + salt
    return int(hashlib.sha256(body.encode()).hexdigest()[:8], 16) % max(n, 1)


def _value(schema: dict[str, Any], request: Request, path: str) -> Any:
    """A value of `schema`, chosen by a hash of the request."""
    if "enum" in schema:
        return schema["enum"][_pick(request, path, len(schema["enum"]))]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _value(v, request, f"{path}.{k}") for k, v in props.items()}
    if kind == "array":
        return [_value(schema.get("items", {}), request, f"{path}[{i}]") for i in range(2)]
    if kind == "integer":
        return _pick(request, path, 12)
    if kind == "number":
        return float(_pick(request, path, 12))
    if kind == "boolean":
        return bool(_pick(request, path, 2))
    if "proposed" in path or "value" in path:
        current = _CURRENT.search(last_user(request))
        base = current.group(1) if current else "Answer the question."
        return f"{base} {_EDITS[_pick(request, path, len(_EDITS))]}"
    return ["yes", "no", "42", "Paris", "the second one"][_pick(request, path, 5)]


def respond(request: Request) -> str:
    schema = ((request.get("response_format") or {}).get("json_schema") or {}).get("schema")
    if schema is not None:
        return json.dumps(_value(schema, request, ""))
    system = system_text(request)
    if system.startswith("You review one step"):
        match = _KEYS.search(last_user(request))
        keys = [json.loads(k) for k in match.group(1).split(", ")] if match else ["value"]
        return json.dumps({k: "Say which detail of the input decides the answer." for k in keys})
    if system.startswith("You improve one part"):
        current = _CURRENT.search(last_user(request))
        base = current.group(1) if current else "Answer the question."
        edit = _EDITS[_pick(request, "edit", len(_EDITS))]
        return f"<reasoning>The feedback asks for care.</reasoning>\n<proposed_value>{base} {edit}</proposed_value>"
    return f"Answer: {_pick(request, 'answer', 12)}"


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
            "tokens_low": estimate.get("tokens_low", estimate["tokens"])}


def _ratio(forecast: int, actual: int) -> float:
    return forecast / actual if actual else float("inf")


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--val", type=int, default=12)
    parser.add_argument("--test", type=int, default=8)
    parser.add_argument("--examples", nargs="*", default=None)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    programs = sorted(p for p in EXAMPLES.glob("*/*.adf")
                      if args.examples is None or p.parent.name in args.examples)
    rows: list[dict[str, Any]] = []
    worst = worst_cold = 0.0
    outside = 0
    print(f"{'example':<16} {'run':<5} {'calls f/a':>13} {'ratio':>6} {'tokens f/a':>17} {'ratio':>6}"
          f"  {'tokens interval':>17} in")
    with FakeServer(respond) as server, tempfile.TemporaryDirectory() as tmp:
        for program in programs:
            work = Path(tmp) / program.parent.name
            for run, seed in (("cold", 0), ("warm", 1)):
                got = train_once(program, server.base_url, work, run, seed, args)
                calls = _ratio(got["forecast_calls"], got["actual_calls"])
                tokens = _ratio(got["forecast_tokens"], got["actual_tokens"])
                inside = got["tokens_low"] <= got["actual_tokens"] <= got["forecast_tokens"]
                if run == "warm":
                    worst = max(worst, abs(calls - 1), abs(tokens - 1))
                else:
                    worst_cold = max(worst_cold, abs(calls - 1))
                    outside += not inside
                rows.append({"example": program.parent.name, "run": run, **got,
                             "calls_ratio": round(calls, 3), "tokens_ratio": round(tokens, 3)})
                print(f"{program.parent.name:<16} {run:<5} "
                      f"{got['forecast_calls']:>6}/{got['actual_calls']:<6} {calls:>6.2f} "
                      f"{got['forecast_tokens']:>8}/{got['actual_tokens']:<8} {tokens:>6.2f}  "
                      f"{got['tokens_low']:>8}-{got['forecast_tokens']:<8} {'yes' if inside else 'no'}")
                sys.stdout.flush()
    print(f"worst |forecast/actual - 1| over warm runs: {worst:.0%} (bar: 25%)")
    print(f"worst |forecast/actual - 1| of cold calls: {worst_cold:.0%}; cold actual tokens "
          f"outside the forecast's interval: {outside}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
