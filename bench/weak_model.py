"""Train the object-counting example with the local model in every role, schema on and off.

Takes the example (`examples/object_counting/object_counting.adf` and its
`data/`), sizes, steps and a seed; trains it with the trainer's Python API
(`adf.optim.trainer.Trainer`) with SmolLM2-135M (the model string "local")
as task model, backward engine and optimizer, once per configuration:

- `on`: constrained outputs, as adf ships them. Every call whose reply has a
  structure (backward feedback, optimizer proposal, typed llm outputs) asks
  the local llama.cpp server for a JSON schema.
- `off`: the same run with the model option `structured: "none"`: no schema
  is sent to the server and the optimizer is asked for its tag format; only
  the tolerant parsers read the replies.
- `typed-on`, `typed-off` (not run by default): the example edited so that
  `solve` returns `int` instead of free text read by `std.parse.last_int`,
  so the task model's own reply is constrained to `{"answer": <integer>}`
  (on) or read from prose by the tolerant parser (off).

Each configuration gets its own empty reply cache, so the two never share a
reply. Prints, per configuration: crashes (exceptions out of the trainer),
unparseable backward and optimizer replies, proposals rejected by the guard
(and by the other cheap checks), accepted proposals, val and test before and
after, model requests, tokens and wall time; then a side-by-side table and
`--json` writes everything to a file.

    python bench/weak_model.py                      # train 12, val 20, test 50, 3 steps, seed 0
    python bench/weak_model.py --configs on         # one configuration
    python bench/weak_model.py --train 4 --val 2 --test 2 --steps 1   # a quick timing probe

The local model runs on one CPU thread: expect several seconds per forward
call and 10-20 s per long backward or optimizer prompt on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adf.records import replace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "object_counting" / "object_counting.adf"
CONFIGS = ("on", "off", "typed-on", "typed-off")
TYPED_EDITS = (  # the example with `solve` returning an int: its reply is constrained too
    ("llm solve(question: str) -> str using student", "llm solve(question: str) -> int using student"),
    ("fn last_int(text: str) -> int = std.parse.last_int\n", ""),
    ("node reply = solve(question)\nnode pred = last_int(reply)", "node pred = solve(question)"),
)
GUARD_KINDS = ("leak", "empty", "unchanged", "duplicate", "too_long", "not_prose")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(EXAMPLE))
    parser.add_argument("--train", type=int, default=12)
    parser.add_argument("--val", type=int, default=20)
    parser.add_argument("--test", type=int, default=50)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--proposals", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=2,
                        help="requests in flight (the local server answers one at a time)")
    parser.add_argument("--configs", default="on,off",
                        help="comma-separated: on (constrained outputs), off, typed-on, typed-off")
    parser.add_argument("--out", help="keep run folders and caches here (default: a temp dir)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--sequential", action="store_true",
                        help="run the configurations one after the other in this process "
                        "(default: each in its own process, with its own local server, at once)")
    return parser.parse_args(argv)


def with_structured_off(plan: Any) -> Any:
    """The plan with every model told never to send a schema (`structured: "none"`)."""
    models = tuple(
        replace(m, options=(*(o for o in m.options if o[0] != "structured"),
                                 ("structured", "none")))
        for m in plan.models
    )
    return replace(plan, models=models)


def typed(path: str) -> Any:
    """The example with `solve -> int` (see TYPED_EDITS), compiled as if it were `path`."""
    from adf.compiler.pipeline import compile_source

    text = Path(path).read_text(encoding="utf-8")
    for old, new in TYPED_EDITS:
        if old not in text:
            raise SystemExit(f"weak_model.py: cannot make the typed variant: {old!r} not in {path}")
        text = text.replace(old, new)
    result = compile_source(text, path)
    if result.plan is None:
        raise SystemExit("weak_model.py: the typed variant does not compile: "
                         + "; ".join(d.message for d in result.diagnostics))
    return result.plan


async def train_one(config: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from adf.llm.accounting import Accounting
    from adf.llm.cache import ReplyCache
    from adf.llm.calltrace import MemoryTrace
    from adf.llm.client import LiteLLMClient
    from adf.llm.models import open_models, resolve_models
    from adf.optim.trainer import Splits, Trainer
    from adf.plan.settings import TrainSettings
    from adf.runtime.bindings import bind
    from adf.runtime.data import load_data
    from adf.workflow import ProgramErrors, compile_program

    compiled = compile_program(args.file) if not config.startswith("typed") else typed(args.file)
    if isinstance(compiled, ProgramErrors):
        raise SystemExit(compiled.text)
    plan = compiled if config.endswith("on") else with_structured_off(compiled)
    data = os.path.join(os.path.dirname(os.path.abspath(args.file)), "data")
    splits = Splits(
        load_data(plan, data, split="train", limit=args.train).samples,
        load_data(plan, data, split="val", limit=args.val).samples,
        load_data(plan, data, split="test", limit=args.test).samples,
    )
    settings = TrainSettings(steps=args.steps, batch_size=args.batch_size,
                             proposals=args.proposals, seed=args.seed,
                             concurrency=args.concurrency)
    run_dir = folder / config / "run"
    shutil.rmtree(folder / config, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cache = ReplyCache(folder / config / "cache.sqlite")
    accounting = Accounting()
    calls = MemoryTrace()
    events: list[str] = []

    def on_event(kind: str, body: Any) -> None:
        if kind == "proposal":
            line = (f"  [{config}] {body.get('param')} #{body.get('attempt')}: "
                    f"{body.get('verdict')} ({body.get('rejection', '')}: "
                    f"{str(body.get('reason', ''))[:100]})")
        elif kind in ("setup", "final"):
            line = f"  [{config}] {kind}: val {body.get('val')} test {body.get('test')}"
        elif kind == "step":
            line = (f"  [{config}] step {body.get('step')}: train {body.get('train_score')} "
                    f"val {body.get('val_score')} calls {body.get('calls')} "
                    f"wall {body.get('step_wall_s')} s")
        else:
            line = f"  [{config}] {kind}: {body}"
        events.append(line)
        print(line, flush=True)

    resolved = resolve_models(plan.models)
    crashes: list[str] = []
    report: dict[str, Any] = {}
    started = time.perf_counter()
    client = LiteLLMClient(cache=cache, sinks=[accounting, calls],
                           concurrency=args.concurrency, timeout_s=300.0)
    async with open_models(resolved, client) as session:
        models = tuple(session.models[m.name].effective_decl() for m in plan.models)
        effective = replace(plan, models=models)
        trainer = Trainer(
            effective, splits, session.client, settings, str(run_dir),
            bind(effective, os.path.dirname(os.path.abspath(args.file))),
            plan_hash=f"weak-model-{config}", on_event=on_event,
        )
        try:
            outcome = await trainer.run()
            report = outcome.report
        except Exception as exc:  # the figure this benchmark exists to count
            crashes.append(f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
            report = trainer.build_report()
    wall = time.perf_counter() - started
    cache.close()
    return summarize(config, report, accounting, calls.records, crashes, wall)


def summarize(config: str, report: dict[str, Any], accounting: Any, records: Any,
              crashes: list[str], wall: float) -> dict[str, Any]:
    counters: dict[str, int] = dict(report.get("counters", {}))
    total = accounting.total
    forms = Counter((r.purpose, r.schema_form) for r in records if r.cache != "hit")
    backward = [r for r in records if r.purpose == "backward" and r.text is not None]
    unreadable, unusable = backward_quality(backward)
    unparseable_forward = sum(
        1 for r in records if r.purpose == "forward" and r.text is not None
        and _no_integer(r.text)
    )
    proposals = [p for s in report.get("steps", []) for p in s.get("proposals", [])]
    scores = report.get("scores", {})
    return {
        "config": config,
        "crashes": len(crashes),
        "crash_reasons": crashes,
        "backward_replies": len(backward),
        "unparseable_backward": unreadable,
        "backward_keys_unusable": unusable,
        "backward_failures": counters.get("backward_failures", 0),
        "unparseable_optimizer": counters.get("rejected_unparseable", 0),
        "guard_rejected": {k: counters.get(f"rejected_{k}", 0) for k in GUARD_KINDS},
        "gate_rejected": counters.get("rejected_gate", 0),
        "model_errors": counters.get("rejected_model_error", 0),
        "accepted": counters.get("accepted", 0),
        "proposals": len(proposals),
        "val_before": scores.get("val_before"),
        "val_after": scores.get("val_after"),
        "test_before": scores.get("test_before"),
        "test_after": scores.get("test_after"),
        "requests": total.calls,
        "model_requests": total.requests,
        "cache_hits": total.cache_hits,
        "failed_requests": total.failures,
        "prompt_tokens": total.prompt_tokens,
        "completion_tokens": total.completion_tokens,
        "tokens": total.tokens,
        "forward_replies_without_integer": unparseable_forward,
        "schema_forms": {f"{p}/{f}": n for (p, f), n in sorted(forms.items())},
        "wall_s": round(wall, 1),
        "status": report.get("status"),
        "final_params": report.get("params", {}),
        "accepted_values": [p.get("value") for p in proposals if p.get("verdict") == "accepted"],
    }


def backward_quality(records: Any) -> tuple[int, int]:
    """(replies from which no requested key could be read, keys left empty or a placeholder)."""
    import re

    from adf.runtime.backward_reply import parse_reply

    unreadable = unusable = 0
    for record in records:
        user = record.messages[-1].content
        match = re.search(r"exactly these keys: (.*)", user)
        keys = [json.loads(k) for k in match.group(1).split(", ")] if match else []
        parsed = parse_reply(record.text, keys)
        if keys and not parsed.texts:
            unreadable += 1
        unusable += len(parsed.missing) if parsed.texts else 0
    return unreadable, unusable


def _no_integer(text: str) -> bool:
    import re

    return re.search(r"\d", text) is None


def show(results: list[dict[str, Any]]) -> None:
    def f(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    rows: list[tuple[str, str | Callable[[dict[str, Any]], Any]]] = [
        ("crashes", "crashes"),
        ("backward replies", "backward_replies"),
        ("unparseable backward replies", "unparseable_backward"),
        ("backward keys empty/placeholder", "backward_keys_unusable"),
        ("unparseable optimizer replies", "unparseable_optimizer"),
        ("rejected by the leak guard", lambda r: r["guard_rejected"]["leak"]),
        ("rejected by the sanity filter", lambda r: sum(
            v for k, v in r["guard_rejected"].items() if k != "leak")),
        ("rejected by the val gate", "gate_rejected"),
        ("accepted proposals", "accepted"),
        ("proposals (all)", "proposals"),
        ("val before", "val_before"),
        ("val after", "val_after"),
        ("test before", "test_before"),
        ("test after", "test_after"),
        ("requests (incl. cache hits)", "requests"),
        ("requests sent to the model", "model_requests"),
        ("failed requests", "failed_requests"),
        ("tokens (prompt + completion)", "tokens"),
        ("forward replies with no digit", "forward_replies_without_integer"),
        ("wall time, s", "wall_s"),
    ]
    print(f"{'structured outputs':34}" + "".join(f"{r['config']:>12}" for r in results))
    for label, key in rows:
        cells = [r[key] if isinstance(key, str) else key(r) for r in results]
        print(f"{label:34}" + "".join(f"{f(c):>12}" for c in cells))
    for r in results:
        print(f"[{r['config']}] schema forms sent: {r['schema_forms']}")
        print(f"[{r['config']}] guard: {r['guard_rejected']}; status: {r['status']}")
        for value in r["accepted_values"]:
            print(f"[{r['config']}] accepted: {value!r}")
        for reason in r["crash_reasons"]:
            print(f"[{r['config']}] crash: {reason}")


def run_in_processes(configs: list[str], argv: list[str], folder: Path) -> list[dict[str, Any]]:
    """Each configuration in a child process of its own (own local server), all at once."""
    import subprocess

    rest = _drop_values(argv, ("--configs", "--json", "--out"))
    children = []
    for config in configs:
        out = folder / f"{config}.json"
        command = [sys.executable, __file__, *rest, "--configs", config, "--out", str(folder),
                   "--json", str(out)]
        children.append((out, subprocess.Popen(command)))
    results = []
    for out, child in children:
        child.wait()
        if out.is_file():
            results += json.loads(out.read_text(encoding="utf-8"))
        else:
            print(f"weak_model.py: {out.stem} produced no figures (exit {child.returncode})",
                  file=sys.stderr)
    return results


def _drop_values(argv: list[str], options: tuple[str, ...]) -> list[str]:
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        name = item.split("=", 1)[0]
        if name in options:
            skip = "=" not in item
            continue
        kept.append(item)
    return kept


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        print(f"weak_model.py: unknown configuration {unknown[0]!r} (use {', '.join(CONFIGS)})",
              file=sys.stderr)
        return 2
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="adf-weak-"))
    load = os.getloadavg()[0]
    print(f"weak-model benchmark: {args.file}; train {args.train}, val {args.val}, "
          f"test {args.test}, {args.steps} steps, batch {args.batch_size}, "
          f"{args.proposals} proposals, seed {args.seed}; load average {load:.1f}", flush=True)
    results = []
    if args.sequential or len(configs) == 1:
        for config in configs:
            print(f"--- structured outputs {config} ---", flush=True)
            results.append(asyncio.run(train_one(config, args, folder)))
    else:
        results = run_in_processes(configs, argv if argv is not None else sys.argv[1:], folder)
    print()
    show(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}; run folders in {folder}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
