"""Peak memory of `adfc check` on huge inputs, against the input's size.

Generates two hostile inputs and a tiny program, runs `adfc check` on each
in a fresh interpreter, and reads that process's peak resident memory
(`VmHWM`, see `CHILD`). The tiny program gives the baseline: the interpreter with
adf's check path imported. Printed for each input: its size, the raw peak,
the peak minus the baseline, and both as multiples of the input size.
The issue's bar is a peak of at most 10x the input size.

- `params`: N `param` declarations, all but one unused (N warnings printed),
  checked with each `--format` (human, json, sarif);
- `literal`: one prompt whose string literal is M megabytes;
- `nodes`: K `node nI = ask(question)` lines, all but their llm calls unused
  (K warnings; each is a call in the plan);
- `sum`: one node that adds T string literals (each a constant node of the plan).

The bar is about every input; the last two shapes put the most plan into the
fewest bytes, so their ratio is the worst (see docs/reliability.md).

Last, the floor of any layout that keeps one frozen `attrs` record per
declaration (the project's IR): the `params` program held as the leanest such
records (see `record_floor`), measured with tracemalloc in this process. It
says how far tuning records can go: below it only a layout without a record
per declaration (packed arrays) would reach.

Run: `python bench/check_memory.py [--params 100000] [--literal-mb 10] [--nodes 30000]
[--terms 30000]`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tracemalloc

import attrs

HEAD = """model m = "local"
input question: str
target answer: str
param instruction: prompt = "{value}"
llm ask(question: str) -> str using m {{ system: [instruction] user: "{{question}}" }}
node pred = ask(question)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""

# The child's own peak: `VmHWM` of /proc/self/status (its address space's high-water
# mark, which starts afresh at exec). Not `ru_maxrss`: Linux carries it across
# fork and exec, so a child reports at least the parent's size when it was started
# (this script holds the inputs' text, tens of MiB).
CHILD = (
    "import resource, sys\n"
    "from adf.cli.main import main\n"
    "status = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "try:\n"
    "    with open('/proc/self/status') as status_file:\n"
    "        peak = next(int(line.split()[1]) for line in status_file if line.startswith('VmHWM:'))\n"
    "except (OSError, StopIteration):\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print(peak, file=sys.stderr)\n"
)


def peak_kib(path: str, output: str = "human") -> int:
    """Peak RSS (KiB) of `adfc check --format OUTPUT path` in a fresh interpreter."""
    args = [sys.executable, "-c", CHILD, "check", "--format", output, "--max-source-mb", "64", path]
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    return int(done.stderr.strip().splitlines()[-1])


@attrs.frozen(weakref_slot=False)
class _Literal:
    text: str
    start: int  # an offset into the source: lines and columns computed on demand


@attrs.frozen(weakref_slot=False)
class _Param:
    name: str
    kind: str
    value: _Literal
    start: int


@attrs.frozen(weakref_slot=False)
class _PlanParam:
    name: str
    kind: str
    value: str
    start: int


@attrs.frozen(weakref_slot=False)
class _Warning:
    code: str
    start: int
    name: str  # the message is built when printed


def record_floor(params: int) -> tuple[float, float]:
    """Bytes per `param` line, and their multiple of the line, for the leanest records.

    Per line: one syntax record and one literal record, each with a single
    source offset instead of spans; the name interned and shared by the tree,
    the name table, the plan and the warning; one plan record; one warning
    holding its code, offset and name only. All alive together, as the tree
    and the plan are while the plan is built. The source text is not counted.
    """
    text = "".join(f'param p{i}: prompt = "value {i}"\n' for i in range(params))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tree = []
    offset = 0
    for i, line in enumerate(text.splitlines(keepends=True)):
        name = sys.intern(f"p{i}")
        tree.append(_Param(name, "prompt", _Literal(f"value {i}", offset + 20), offset))
        offset += len(line)
    table = {decl.name: index for index, decl in enumerate(tree)}
    plan = [_PlanParam(decl.name, decl.kind, decl.value.text, decl.start) for decl in tree]
    warnings = [_Warning("W0507", decl.start, decl.name) for decl in tree]
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del tree, table, plan, warnings
    per_line = used / params
    return per_line, per_line * params / len(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=100_000)
    parser.add_argument("--literal-mb", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=30_000)
    parser.add_argument("--terms", type=int, default=30_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        inputs = {
            "tiny": HEAD.format(value="Answer."),
            f"{args.params} params": HEAD.format(value="Answer.") + "".join(
                f'param p{i}: prompt = "value {i}"\n' for i in range(args.params)),
            f"{args.literal_mb:g} MB literal": HEAD.format(value="x" * int(args.literal_mb * 1e6)),
            f"{args.nodes} nodes": HEAD.format(value="Answer.") + "".join(
                f"node n{i} = ask(question)\n" for i in range(args.nodes)),
            f"sum of {args.terms}": HEAD.format(value="Answer.") + "node total = " + " + ".join(
                f'"t{i}"' for i in range(args.terms)) + "\n",
        }
        paths = {}
        for index, (name, text) in enumerate(inputs.items()):
            paths[name] = os.path.join(folder, f"input{index}.adf")
            with open(paths[name], "w", encoding="utf-8") as handle:
                handle.write(text)
        base = peak_kib(paths["tiny"]) * 1024
        print(f"baseline (interpreter + check path, tiny program): {base / 2**20:.1f} MiB")
        print(f"{'input':>22} {'size MiB':>9} {'peak MiB':>9} {'peak/size':>9} "
              f"{'(peak-base) MiB':>15} {'(peak-base)/size':>16}")
        worst = 0.0
        runs = [(name, "human") for name in list(inputs)[1:]]
        runs += [(list(inputs)[1], output) for output in ("json", "sarif")]
        for name, output in runs:
            size = os.path.getsize(paths[name])
            peak = peak_kib(paths[name], output) * 1024
            worst = max(worst, peak / size)
            label = name if output == "human" else f"{name}, {output}"
            print(f"{label:>22} {size / 2**20:9.1f} {peak / 2**20:9.1f} {peak / size:9.1f} "
                  f"{(peak - base) / 2**20:15.1f} {(peak - base) / size:16.1f}")
    print(f"worst peak/size {worst:.1f}x (bar: 10x)")
    per_line, ratio = record_floor(args.params)
    print(f"floor of one frozen record per declaration, {args.params} params: "
          f"{per_line:.0f} bytes per line, {ratio:.1f}x the input without the interpreter")
    return 0 if worst <= 10.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
