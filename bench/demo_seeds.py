"""Run the demo's training configuration over several seeds and print the table.

Takes an example (default `examples/trec/trec.adf`, the one `scripts/demo.sh`
trains), the demo's `adfc train` settings and a list of seeds; trains once
per seed, one after another, each with `--no-lock --force` (every seed starts
from the source's values, never from an earlier seed's lock file, and writes
its own), its own empty
reply cache and its own run folder, so seeds never share a reply. Reads each
run's `report.json` and prints, per seed: validation and test before -> after,
which parameters changed, what became of the proposals, model calls, tokens and wall time; then the mean and
the spread (min..max, sample standard deviation) of the validation and test
gains, and on how many seeds test rose, stayed or fell.

    python bench/demo_seeds.py                          # seeds 0-4, the demo's settings
    python bench/demo_seeds.py --seeds 5,6 --timeout 900
    python bench/demo_seeds.py --summarise RUN_DIR...   # only read finished runs

The local model runs on one CPU thread; each seed takes minutes. Run it on a
quiet machine for wall times that mean something.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trec" / "trec.adf"
# The settings scripts/demo.sh passes to `adfc train` (keep the two in step).
DEMO_ARGS = (
    "--train-limit", "60", "--val-limit", "40", "--test-limit", "60",
    "--steps", "3", "--batch-size", "4", "--proposals", "0", "--demo-proposals", "2",
    "--max-calls", "400",
)


@attrs.frozen
class SeedRun:
    seed: str
    val_before: float
    val_after: float
    test_before: float
    test_after: float
    changed: tuple[str, ...]
    calls: int
    tokens: int
    wall_s: float
    status: str
    verdicts: str  # e.g. "gate 3, not_prose 1": why proposals were turned down, or what was kept


def read_run(seed: str, folder: Path) -> SeedRun:
    report = json.loads((folder / "report.json").read_text())
    scores = report["scores"]
    changed = tuple(
        name for name, p in sorted(report["params"].items()) if p["initial"] != p["final"]
    )
    usage = report["usage"]["by_purpose"]
    calls = sum(int(u.get("requests", 0)) for u in usage.values())
    tokens = sum(
        int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0)) for u in usage.values()
    )

    def score(key: str) -> float:
        value = scores.get(key)
        return float(value) if value is not None else float("nan")

    outcomes: Counter[str] = Counter()
    for step in report["steps"]:
        for proposal in step.get("proposals", []):
            verdict = str(proposal.get("verdict", ""))
            outcomes[str(proposal.get("rejection") or verdict) if verdict == "rejected" else verdict] += 1
    verdicts = ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
    return SeedRun(seed, score("val_before"), score("val_after"), score("test_before"),
                   score("test_after"), changed, calls, tokens, float(report.get("wall_s", 0.0)),
                   str(report.get("status", "")), verdicts)


def train(example: Path, seed: int, args: list[str], timeout: float, work: Path) -> SeedRun:
    folder = work / f"seed{seed}"
    cmd = [sys.executable, "-m", "adf.cli.main", "train", str(example), "--seed", str(seed),
           "--no-lock", "--force", "--quiet", "--cache", str(work / f"seed{seed}.sqlite"),
           "--out", str(folder), *args]
    print("$", " ".join(cmd[2:]), flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, check=False, env=os.environ.copy())
    if proc.returncode != 0:
        print(f"seed {seed}: adfc train exited {proc.returncode}", flush=True)
    run = read_run(str(seed), folder)
    return attrs.evolve(run, wall_s=time.monotonic() - start)


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return (f"mean {statistics.mean(values):+.3f}  min {min(values):+.3f}  "
            f"max {max(values):+.3f}  sd {sd:.3f}")


def table(runs: list[SeedRun]) -> str:
    lines = ["seed  val before->after   test before->after  changed               calls  tokens   wall"
             "   proposals"]
    for r in runs:
        lines.append(
            f"{r.seed:<5} {r.val_before:.3f} -> {r.val_after:.3f}     "
            f"{r.test_before:.3f} -> {r.test_after:.3f}      "
            f"{(','.join(r.changed) or '-'):<21} {r.calls:>5}  {r.tokens:>6}  {r.wall_s:>5.0f} s   {r.verdicts}"
        )
    val = [r.val_after - r.val_before for r in runs]
    test = [r.test_after - r.test_before for r in runs]
    up = sum(1 for t in test if t > 0)
    down = sum(1 for t in test if t < 0)
    lines.append(f"val gain:  {spread(val)}")
    lines.append(f"test gain: {spread(test)}")
    lines.append(f"test rose on {up}, stayed on {len(test) - up - down}, fell on {down} of {len(test)} seeds")
    walls = [r.wall_s for r in runs]
    lines.append(f"wall: mean {statistics.mean(walls):.0f} s, max {max(walls):.0f} s; "
                 f"load average now {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--example", type=Path, default=EXAMPLE)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds per seed")
    ap.add_argument("--work", type=Path, default=None, help="folder for run folders and caches")
    ap.add_argument("--summarise", nargs="*", type=Path, default=None,
                    help="read these finished run folders instead of training")
    ns, extra = ap.parse_known_args(argv)
    if ns.summarise:
        runs = [read_run(p.name, p) for p in ns.summarise]
    else:
        work = ns.work or Path(tempfile.mkdtemp(prefix="adf-demo-seeds-"))
        args = list(DEMO_ARGS) + extra
        runs = [train(ns.example, int(s), args, ns.timeout, work)
                for s in ns.seeds.split(",")]
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
