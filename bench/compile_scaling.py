"""How compile time grows with program size, against Lark parsing alone, and
how long `adfc check` takes against a bare Python start.

Part 1: generated programs whose plans have about 1k, 10k and 50k nodes
(chains and fan-in of llm and fn calls, nested calls, `+` chains, record
field access, a `match` with guarded branches, a `map` over a list, an objective, loops of
3 steps with a state, a loop of 2 steps nested in one of 2 steps, and a call of
a whole workflow from a used file, `sub.adf`, inlined once per block). For each size, best of `--repeat` runs of
  - Lark: `lark.Lark(adf.lark, parser="lalr", lexer="contextual").parse`
    (the parser object is built once, outside the timing);
  - compile: `compile_source` (parse, resolve, graph, types, bindings,
    unroll, emit);
  - compile+encode: `compile_source` then `encode_plan` (the bytes written
    by `adfc compile`).
Targets: compile <= 3x Lark; 10x the size costs <= 12x the time.

Part 2: `adfc check EXAMPLE` against `python -c pass`, both as subprocesses,
best of `--starts`. Target: <= 4x.

Run: `python bench/compile_scaling.py [--repeat 3] [--starts 7] [--profile]`
(`--profile` adds a cProfile of compiling the largest program).
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import functools
import gc
import io
import itertools
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lark

from adf.compiler.pipeline import compile_source
from adf.plan.codec import encode_plan

REPO = Path(__file__).resolve().parents[1]
GRAMMAR = REPO / "src" / "adf" / "syntax" / "adf.lark"
EXAMPLE = REPO / "examples" / "hotpotqa" / "hotpotqa.adf"

HEADER = '''model m = "local" { temperature: 0, max_tokens: 64 }
param inst: prompt "the instruction" = """Answer briefly.
Think first."""
param fmt: prompt frozen = "Reply on one line."
input q: str
target t: str
llm ask(a: str) -> str using m {
  system: [inst, fmt]
  user: "Q: {a}"
}
llm combine(a: str, b: str) -> str using m {
  system: [inst]
  user: """First: {a}
Second: {b}"""
}
fn strip(text: str) -> str = std.parse.strip
fn first(text: str) -> str = std.parse.first_line
fn split(text: str) -> list[str] = std.text.lines
llm judge(a: str) -> {label: enum{yes, no}, note: str} using m {
  system: [inst]
  user: "J: {a}"
}
use "sub.adf" as sub
'''

# The used file whose whole workflow each block calls: 2 plan nodes per call
# (the argument is a name, so its input is an alias and adds none).
SUB = '''model m = "local" { temperature: 0, max_tokens: 64 }
param hint: prompt = "Summarise the text."
input text: str
llm say(text: str) -> str using m {
  system: [hint]
  user: "T: {text}"
}
fn strip(text: str) -> str = std.parse.strip
node said = say(text)
node out = strip(said)
output out
'''


def program(target_nodes: int) -> str:
    """A program whose plan has about `target_nodes` nodes, in blocks of 30."""
    lines = [HEADER]
    prev = "q"
    i = 0
    nodes = 0
    while nodes < target_nodes:
        b = f"k{i}"
        # 8 nodes: 4 calls, a nested call, a `+` chain (a const and 2 adds)
        lines.append(f"node {b}a = ask({prev})")
        lines.append(f"node {b}b = strip({b}a)")
        lines.append(f"node {b}c = combine({b}a, first({b}b))")
        lines.append(f'node {b}d = {b}c + "\\n" + {b}b')
        lines.append(f"node {b}e = ask({b}d)")
        # 6 nodes of language v2: a record call, a `match` on one of its fields
        # (the field, a guarded call, a guarded field, the select)
        lines.append(f"node {b}j = judge({b}e)")
        lines.append(f"node {b}m = match {b}j.label {{ yes => ask({b}e), no => {b}j.note }}")
        # 2 nodes: the used file's workflow, inlined under `{b}u`
        lines.append(f"node {b}u = sub({b}e)")
        # 6 nodes of per-item work: the list, 2 items (item node and call), the map
        lines.append(f"node {b}p = map x{b} in split({b}u) max 2 => ask(x{b})")
        # 10 more: the state's initial value, then 3 steps of (an add, a call, the update)
        lines.append(f'state {b}s: str = ""')
        lines.append(f"loop {b}l in 0..3 {{")
        lines.append(f"  node {b}r = ask({b}s + {b}m)")
        lines.append(f"  {b}s = {b}s + {b}r")
        lines.append("}")
        # 13 more: nested loops (2 x 2 steps) carrying a state through the inner loop:
        # its initial value, then per inner step an add, a call and the update
        lines.append(f'state {b}w: str = ""')
        lines.append(f"loop {b}o in 0..2 {{")
        lines.append(f"  loop {b}n in 0..2 {{")
        lines.append(f"    node {b}v = ask({b}w + {b}s)")
        lines.append(f"    {b}w = {b}w + {b}v")
        lines.append("  }")
        lines.append("}")
        prev = f"{b}w"
        nodes += 8 + 6 + 2 + 6 + 1 + 3 * 3 + 1 + 2 * 2 * 3
        i += 1
    lines.append(f"loss acc = std.loss.exact_match({prev}, t)")
    lines.append(f"loss overlap = std.loss.f1({prev}, t)")
    lines.append("loss total = 0.5 * acc + 0.5 * overlap")
    lines.append(f"output {prev}")
    return "\n".join(lines) + "\n"


# Where the generated program "lives": its `use "sub.adf"` is read from here.
FOLDER = tempfile.mkdtemp(prefix="adf-scaling-")
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
NAME = os.path.join(FOLDER, "scaling.adf")
Path(FOLDER, "sub.adf").write_text(SUB, encoding="utf-8")


def compile_and_encode(text: str) -> bytes:
    """What `adfc compile` does, without the file I/O."""
    result = compile_source(text, NAME)
    assert result.plan is not None
    return encode_plan(result.plan)


def without_gc(fn: Callable[..., object], *args: object) -> object:
    """Run `fn` with the cyclic garbage collector paused (the compiler makes no cycles)."""
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def start_time(cmd: list[str], starts: int) -> float:
    times = []
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--starts", type=int, default=7)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  (python {sys.version.split()[0]})")
    lark_parser = lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual")
    rows = []
    for size in sizes:
        text = program(size)
        result = compile_source(text, NAME)
        assert result.ok and result.plan is not None, [str(d.message) for d in result.diagnostics[:3]]
        plan = result.plan
        nodes = len(plan.nodes)
        t_lark = best(functools.partial(lark_parser.parse, text), args.repeat)
        t_compile = best(functools.partial(compile_source, text, NAME), args.repeat)
        t_full = best(functools.partial(compile_and_encode, text), args.repeat)
        t_nogc = best(functools.partial(without_gc, compile_source, text, NAME), args.repeat)
        rows.append((size, nodes, len(text), t_lark, t_compile, t_full, t_nogc))

    print()
    print(f"part 1: compile time against Lark parsing alone (best of {args.repeat})")
    print(
        f"{'target':>7} {'nodes':>7} {'bytes':>9} {'lark s':>8} {'compile s':>10} {'ratio':>6}"
        f" {'+encode s':>10} {'ratio':>6} {'us/node':>8} {'no-gc s':>8} {'ratio':>6}"
    )
    for size, nodes, nbytes, t_lark, t_compile, t_full, t_nogc in rows:
        print(
            f"{size:>7} {nodes:>7} {nbytes:>9} {t_lark:>8.3f} {t_compile:>10.3f} {t_compile / t_lark:>5.2f}x"
            f" {t_full:>10.3f} {t_full / t_lark:>5.2f}x {1e6 * t_compile / nodes:>8.1f}"
            f" {t_nogc:>8.3f} {t_nogc / t_lark:>5.2f}x"
        )
    print()
    print("growth (time ratio for the size ratio; target: 10x the size <= 12x the time)")
    for (s0, n0, _, _, c0, f0, g0), (s1, n1, _, _, c1, f1, g1) in itertools.pairwise(rows):
        size_ratio = n1 / n0
        print(
            f"  {s0:>6} -> {s1:<6} size x{size_ratio:5.2f}  compile x{c1 / c0:6.2f}"
            f" (per 10x size: x{10 * (c1 / c0) / size_ratio:5.2f})  compile+encode x{f1 / f0:6.2f}"
            f"  compile without gc x{g1 / g0:6.2f} (per 10x size: x{10 * (g1 / g0) / size_ratio:5.2f})"
        )

    print()
    print(f"part 2: `adfc check {EXAMPLE.relative_to(REPO)}` against `python -c pass` (best of {args.starts})")
    t_pass = start_time([sys.executable, "-c", "pass"], args.starts)
    t_check = start_time([sys.executable, "-m", "adf.cli.main", "check", str(EXAMPLE)], args.starts)
    adfc = Path(sys.executable).with_name("adfc")
    t_script = start_time([str(adfc), "check", str(EXAMPLE)], args.starts) if adfc.exists() else float("nan")
    imports = "import adf.cli.check, adf.compiler.pipeline, adf.analysis.lint"
    t_attrs = start_time([sys.executable, "-c", "import attrs"], args.starts)
    t_imports = start_time([sys.executable, "-c", imports], args.starts)
    print(f"  python -c pass          {t_pass * 1000:7.1f} ms")
    print(f"  python -c 'import attrs' {t_attrs * 1000:6.1f} ms  {t_attrs / t_pass:5.2f}x")
    print(f"  import the check path   {t_imports * 1000:7.1f} ms  {t_imports / t_pass:5.2f}x  ({imports}; no work)")
    print(f"  python -m adf.cli.main  {t_check * 1000:7.1f} ms  {t_check / t_pass:5.2f}x")
    print(f"  adfc (console script)   {t_script * 1000:7.1f} ms  {t_script / t_pass:5.2f}x")

    if args.profile:
        text = program(sizes[-1])
        profiler = cProfile.Profile()
        profiler.enable()
        compile_and_encode(text)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print()
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
