"""Does the full lint stay linear? Lint time against parse time on growing programs.

Generates programs of N unrolled nodes in two shapes:
- `chain`: N top-level nodes, each an llm or fn call on the one before
  (with trainable parameters, a loss, some dead branches and unused code, so
  every analysis has work to do);
- `loop`: one loop of 1000 steps whose body has N/1000 nodes, carrying a
  growing state (the unrolled shape of multi-hop workflows).

For each size it times, in the same process and run, the parse of the text
(`adf.syntax.parser.parse`), the whole compile (`compile_source`: parse,
checks, unrolling, plan) and the full lint of the compiled plan
(`adf.analysis.lint.lint_plan`: reachability, dead code, loop sizes, context,
configuration and suppressions), and prints the ratios. Target at 50k
nodes: lint <= 3x parse for the chain (whose text has one line per node);
for the loop, whose text is tiny and whose nodes come from unrolling, lint
<= 3x compile. The ratios should stay flat as N grows (linear time).
Best of `--repeat` runs each.

A third shape, `params`, is what a hostile or generated file looks like: N
`param` declarations, all but one unused, so the lints report N warnings.
For it the whole of `adfc check` is timed (compile, lint, and rendering every
warning with its source line, where a per-diagnostic split of the source once
made the command quadratic), in CPU seconds so a loaded machine does not
blur it. Targets: the check/parse ratio stays flat, and 100,000 params are
checked in at most 10 s.

Run: `python bench/lint_scaling.py [--sizes 5000,20000,50000] [--param-sizes
10000,30000,100000] [--repeat 3]`
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable

from adf.analysis.config import LintConfig
from adf.analysis.lint import lint_plan
from adf.compiler.pipeline import compile_source
from adf.syntax.parser import parse

HEADER = """model student = "local" { max_tokens: 32, context: 100000 }
param instruction: prompt = "Answer the question."
param style: prompt = "Be brief."
param spare: prompt = "never used"
input question: str
input unused: str
target answer: str
llm ask(text: str) -> str using student {
  system: [instruction]
  user: "Text: {text}"
}
llm side(text: str) -> str using student {
  system: [style]
  user: "Aside: {text}"
}
fn strip(text: str) -> str = std.parse.strip
fn append(items: list[str], item: str) -> list[str] = std.op.append
fn join(items: list[str]) -> str = std.text.join
fn never(text: str) -> str = std.parse.first_line
"""


def chain(n: int) -> str:
    lines = [HEADER, "node n0 = ask(question)"]
    for i in range(1, n):
        if i % 50 == 0:
            lines.append(f"node d{i} = side(n{i - 1})")  # a dead branch
            lines.append(f"node n{i} = strip(n{i - 1})")
        elif i % 7 == 0:
            lines.append(f"node n{i} = ask(n{i - 1})")
        else:
            lines.append(f"node n{i} = strip(n{i - 1})")
    lines.append(f"loss found = std.loss.contains(n{n - 1}, answer)")
    lines.append(f"output n{n - 1}")
    return "\n".join(lines) + "\n"


def loop(n: int) -> str:
    body = max(1, n // 1000 - 1)
    lines = [HEADER, "state notes: list[str] = []", "loop hop in 0..1000 {", "  node b0 = strip(question)"]
    for i in range(1, body):
        lines.append(f"  node b{i} = strip(b{i - 1})")
    lines += [f"  notes = append(notes, b{body - 1})", "}",
              "node summary = join(notes)", "node reply = ask(summary)",
              "loss found = std.loss.contains(reply, answer)", "output reply"]
    return "\n".join(lines) + "\n"


def params(n: int) -> str:
    lines = ['model m = "openai/fake"']
    lines += [f'param p{i}: prompt = "value {i}"' for i in range(n)]
    lines += ["input question: str", "llm a(question: str) -> str using m {",
              "  system: [p0]", '  user: "{question}"', "}", "node out = a(question)",
              "output out"]
    return "\n".join(lines) + "\n"


def check_all(text: str) -> int:
    """What `adfc check` does with a file: compile, lint, render every diagnostic."""
    from adf.compiler.render import render_human

    result = compile_source(text, "params.adf")
    assert result.plan is not None
    found = lint_plan(result.plan, "params.adf", text, LintConfig())
    return len(render_human(found, {"params.adf": text}))


def cpu(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times)


def param_scaling(sizes: list[int], repeat: int) -> bool:
    print(f"\n{'params':>7} {'parse cpu s':>11} {'check cpu s':>11} {'check/parse':>11}")
    ratios: list[float] = []
    largest = 0.0
    for size in sizes:
        text = params(size)
        parse_s = cpu(functools.partial(parse, text), repeat)
        check_s = cpu(functools.partial(check_all, text), repeat)
        ratios.append(check_s / parse_s)
        largest = check_s
        print(f"{size:>7} {parse_s:>11.3f} {check_s:>11.3f} {check_s / parse_s:>11.2f}")
    flat = max(ratios) <= 1.5 * min(ratios)
    print(f"check/parse from {min(ratios):.2f} to {max(ratios):.2f} "
          f"({'flat: linear' if flat else 'GROWING'}); {sizes[-1]} params checked in "
          f"{largest:.1f} CPU s (target <= 10): {'ok' if largest <= 10 else 'OVER TARGET'}")
    return flat and largest <= 10


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,50000")
    parser.add_argument("--param-sizes", default="10000,30000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'shape':6} {'nodes':>7} {'parse s':>8} {'compile s':>9} {'lint s':>8} "
          f"{'lint/parse':>10} {'lint/compile':>12}  findings")
    worst = 0.0
    for shape, make in (("chain", chain), ("loop", loop)):
        for size in sizes:
            text = make(size)
            result = compile_source(text, f"{shape}.adf")
            if result.plan is None:
                print(f"{shape} {size}: does not compile: {result.diagnostics[0].message}", file=sys.stderr)
                return 1
            plan = result.plan
            parse_s = best(functools.partial(parse, text), args.repeat)
            compile_s = best(functools.partial(compile_source, text, f"{shape}.adf"), args.repeat)
            lint_s = best(functools.partial(lint_plan, plan, "x.adf", text, LintConfig()), args.repeat)
            found = lint_plan(plan, "x.adf", text, LintConfig())
            judged = lint_s / (parse_s if shape == "chain" else compile_s)
            if size == max(sizes):
                worst = max(worst, judged)
            codes = ", ".join(sorted({d.code for d in found}))
            print(f"{shape:6} {len(plan.nodes):>7} {parse_s:>8.3f} {compile_s:>9.3f} {lint_s:>8.3f} "
                  f"{lint_s / parse_s:>10.2f} {lint_s / compile_s:>12.2f}  {len(found)} ({codes})")
    verdict = "ok" if worst <= 3.0 else "OVER TARGET"
    print(f"largest size: lint at most {worst:.2f}x its baseline (target <= 3.0): {verdict}")
    params_ok = param_scaling([int(s) for s in args.param_sizes.split(",")], args.repeat)
    return 0 if worst <= 3.0 and params_ok else 1


if __name__ == "__main__":
    sys.exit(main())
