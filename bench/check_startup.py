"""Cold start of `adfc check`: how many times a bare `python -c pass` it takes.

Runs, alternately and `--rounds` times each, in fresh processes:
  - `python -c pass` (the baseline: starting the interpreter),
  - `adfc check -q EXAMPLE` (start, import, compile, lint, print): the console
    script next to the interpreter (`python -m adf.cli.main` without one),
  - `python -X importtime ...` once, to list the slowest imports on the check path.
Reports the best and the median wall time of each and their ratio (best to
best is the stable figure on a loaded machine), plus CPU time (user+sys of
the child) ratios, which swing less than wall time under load.
Goal: best check <= 6x best `python -c pass`.

adf's modules are byte-compiled first (`compileall`), as an installed
package is: without the `.pyc` files (PYTHONDONTWRITEBYTECODE=1 in a
checkout) every start would re-compile every module and measure that
instead. `python -c "import attrs"` is timed too: the floor adf's frozen
records stand on.

Run: `python bench/check_startup.py [--rounds 20] [--example examples/gsm8k/gsm8k.adf]`
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time


def _run(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _slowest_imports(argv: list[str], count: int = 8) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=False
    )
    found = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            found.append((int(parts[0].split(":")[1]), parts[2].rstrip()))
    return sorted(found, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--example", default="examples/gsm8k/gsm8k.adf")
    args = parser.parse_args()
    import adf

    compileall.compile_dir(os.path.dirname(adf.__file__), quiet=1)
    baseline = [sys.executable, "-c", "pass"]
    script = os.path.join(os.path.dirname(sys.executable), "adfc")  # the console script users run
    entry = [sys.executable, script] if os.path.isfile(script) else [sys.executable, "-m", "adf.cli.main"]
    check = [*entry, "check", "-q", args.example]
    commands = {
        "python -c pass": baseline,
        "import attrs": [sys.executable, "-c", "import attrs"],
        "adfc check": check,
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for index in range(args.rounds):
        order = list(commands.items())
        for name, argv in order if index % 2 == 0 else reversed(order):
            runs[name].append(_run(argv))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.rounds} rounds")
    print(f"{'':18}{'wall best':>12}{'wall median':>14}{'cpu best':>12}")
    for name, found in runs.items():
        walls = [w for w, _ in found]
        cpus = [c for _, c in found]
        print(
            f"{name:18}{min(walls) * 1000:10.1f}ms{statistics.median(walls) * 1000:12.1f}ms"
            f"{min(cpus) * 1000:10.1f}ms"
        )
    base = runs["python -c pass"]
    for name in ("import attrs", "adfc check"):
        cold = runs[name]
        ratio_best = min(w for w, _ in cold) / min(w for w, _ in base)
        ratio_median = statistics.median(w for w, _ in cold) / statistics.median(w for w, _ in base)
        ratio_cpu = min(c for _, c in cold) / max(min(c for _, c in base), 1e-6)
        goal = " (goal <= 6x)" if name == "adfc check" else ""
        print(f"ratio ({name} / pass): best {ratio_best:.2f}x, median {ratio_median:.2f}x, "
              f"cpu {ratio_cpu:.2f}x{goal}")
    print("slowest imports on the check path (self time, µs):")
    for micros, name in _slowest_imports(check):
        print(f"  {micros:8d}  {name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
