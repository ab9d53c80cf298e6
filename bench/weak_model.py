from adf.records import replace
"""Train the object-counting example with the local model in every role, schema on and off.
from adf.records import replace

from adf.records import replace
Takes the example (`examples/object_counting/object_counting.adf` and its
from adf.records import replace
`data/`), sizes, steps and a seed; trains it with the trainer's Python API
from adf.records import replace
(`adf.optim.trainer.Trainer`) with SmolLM2-135M (the model string "local")
from adf.records import replace
as task model, backward engine and optimizer, once per configuration:
from adf.records import replace

from adf.records import replace
- `on`: constrained outputs, as adf ships them. Every call whose reply has a
from adf.records import replace
  structure (backward feedback, optimizer proposal, typed llm outputs) asks
from adf.records import replace
  the local llama.cpp server for a JSON schema.
from adf.records import replace
- `off`: the same run with the model option `structured: "none"`: no schema
from adf.records import replace
  is sent to the server and the optimizer is asked for its tag format; only
from adf.records import replace
  the tolerant parsers read the replies.
from adf.records import replace
- `typed-on`, `typed-off` (not run by default): the example edited so that
from adf.records import replace
  `solve` returns `int` instead of free text read by `std.parse.last_int`,
from adf.records import replace
  so the task model's own reply is constrained to `{"answer": <integer>}`
from adf.records import replace
  (on) or read from prose by the tolerant parser (off).
from adf.records import replace

from adf.records import replace
Each configuration gets its own empty reply cache, so the two never share a
from adf.records import replace
reply. Prints, per configuration: crashes (exceptions out of the trainer),
from adf.records import replace
unparseable backward and optimizer replies, proposals rejected by the guard
from adf.records import replace
(and by the other cheap checks), accepted proposals, val and test before and
from adf.records import replace
after, model requests, tokens and wall time; then a side-by-side table and
from adf.records import replace
`--json` writes everything to a file.
from adf.records import replace

from adf.records import replace
    python bench/weak_model.py                      # train 12, val 20, test 50, 3 steps, seed 0
from adf.records import replace
    python bench/weak_model.py --configs on         # one configuration
from adf.records import replace
    python bench/weak_model.py --train 4 --val 2 --test 2 --steps 1   # a quick timing probe
from adf.records import replace

from adf.records import replace
The local model runs on one CPU thread: expect several seconds per forward
from adf.records import replace
call and 10-20 s per long backward or optimizer prompt on a 2-core machine.
from adf.records import replace
"""
from adf.records import replace

from adf.records import replace
from __future__ import annotations
from adf.records import replace

from adf.records import replace
import argparse
from adf.records import replace
import asyncio
from adf.records import replace
import json
from adf.records import replace
import os
from adf.records import replace
import shutil
from adf.records import replace
import sys
from adf.records import replace
import tempfile
from adf.records import replace
import time
from adf.records import replace
import traceback
from adf.records import replace
from collections import Counter
from adf.records import replace
from collections.abc import Callable
from adf.records import replace
from pathlib import Path
from adf.records import replace
from typing import Any
from adf.records import replace

from adf.records import replace

from adf.records import replace
ROOT = Path(__file__).resolve().parent.parent
from adf.records import replace
EXAMPLE = ROOT / "examples" / "object_counting" / "object_counting.adf"
from adf.records import replace
CONFIGS = ("on", "off", "typed-on", "typed-off")
from adf.records import replace
TYPED_EDITS = (  # the example with `solve` returning an int: its reply is constrained too
from adf.records import replace
    ("llm solve(question: str) -> str using student", "llm solve(question: str) -> int using student"),
from adf.records import replace
    ("fn last_int(text: str) -> int = std.parse.last_int\n", ""),
from adf.records import replace
    ("node reply = solve(question)\nnode pred = last_int(reply)", "node pred = solve(question)"),
from adf.records import replace
)
from adf.records import replace
GUARD_KINDS = ("leak", "empty", "unchanged", "duplicate", "too_long", "not_prose")
from adf.records import replace

from adf.records import replace

from adf.records import replace
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
from adf.records import replace
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
from adf.records import replace
    parser.add_argument("--file", default=str(EXAMPLE))
from adf.records import replace
    parser.add_argument("--train", type=int, default=12)
from adf.records import replace
    parser.add_argument("--val", type=int, default=20)
from adf.records import replace
    parser.add_argument("--test", type=int, default=50)
from adf.records import replace
    parser.add_argument("--steps", type=int, default=3)
from adf.records import replace
    parser.add_argument("--batch-size", type=int, default=4)
from adf.records import replace
    parser.add_argument("--proposals", type=int, default=3)
from adf.records import replace
    parser.add_argument("--seed", type=int, default=0)
from adf.records import replace
    parser.add_argument("--concurrency", type=int, default=2,
from adf.records import replace
                        help="requests in flight (the local server answers one at a time)")
from adf.records import replace
    parser.add_argument("--configs", default="on,off",
from adf.records import replace
                        help="comma-separated: on (constrained outputs), off, typed-on, typed-off")
from adf.records import replace
    parser.add_argument("--out", help="keep run folders and caches here (default: a temp dir)")
from adf.records import replace
    parser.add_argument("--json", help="write the figures to this file")
from adf.records import replace
    parser.add_argument("--sequential", action="store_true",
from adf.records import replace
                        help="run the configurations one after the other in this process "
from adf.records import replace
                        "(default: each in its own process, with its own local server, at once)")
from adf.records import replace
    return parser.parse_args(argv)
from adf.records import replace

from adf.records import replace

from adf.records import replace
def with_structured_off(plan: Any) -> Any:
from adf.records import replace
    """The plan with every model told never to send a schema (`structured: "none"`)."""
from adf.records import replace
    models = tuple(
from adf.records import replace
        replace(m, options=(*(o for o in m.options if o[0] != "structured"),
from adf.records import replace
                                 ("structured", "none")))
from adf.records import replace
        for m in plan.models
from adf.records import replace
    )
from adf.records import replace
    return replace(plan, models=models)
from adf.records import replace

from adf.records import replace

from adf.records import replace
def typed(path: str) -> Any:
from adf.records import replace
    """The example with `solve -> int` (see TYPED_EDITS), compiled as if it were `path`."""
from adf.records import replace
    from adf.compiler.pipeline import compile_source
from adf.records import replace

from adf.records import replace
    text = Path(path).read_text(encoding="utf-8")
from adf.records import replace
    for old, new in TYPED_EDITS:
from adf.records import replace
        if old not in text:
from adf.records import replace
            raise SystemExit(f"weak_model.py: cannot make the typed variant: {old!r} not in {path}")
from adf.records import replace
        text = text.replace(old, new)
from adf.records import replace
    result = compile_source(text, path)
from adf.records import replace
    if result.plan is None:
from adf.records import replace
        raise SystemExit("weak_model.py: the typed variant does not compile: "
from adf.records import replace
                         + "; ".join(d.message for d in result.diagnostics))
from adf.records import replace
    return result.plan
from adf.records import replace

from adf.records import replace

from adf.records import replace
async def train_one(config: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
from adf.records import replace
    from adf.llm.accounting import Accounting
from adf.records import replace
    from adf.llm.cache import ReplyCache
from adf.records import replace
    from adf.llm.calltrace import MemoryTrace
from adf.records import replace
    from adf.llm.client import LiteLLMClient
from adf.records import replace
    from adf.llm.models import open_models, resolve_models
from adf.records import replace
    from adf.optim.trainer import Splits, Trainer, TrainSettings
from adf.records import replace
    from adf.runtime.bindings import bind
from adf.records import replace
    from adf.runtime.data import load_data
from adf.records import replace
    from adf.workflow import ProgramErrors, compile_program
from adf.records import replace

from adf.records import replace
    compiled = compile_program(args.file) if not config.startswith("typed") else typed(args.file)
from adf.records import replace
    if isinstance(compiled, ProgramErrors):
from adf.records import replace
        raise SystemExit(compiled.text)
from adf.records import replace
    plan = compiled if config.endswith("on") else with_structured_off(compiled)
from adf.records import replace
    data = os.path.join(os.path.dirname(os.path.abspath(args.file)), "data")
from adf.records import replace
    splits = Splits(
from adf.records import replace
        load_data(plan, data, split="train", limit=args.train).samples,
from adf.records import replace
        load_data(plan, data, split="val", limit=args.val).samples,
from adf.records import replace
        load_data(plan, data, split="test", limit=args.test).samples,
from adf.records import replace
    )
from adf.records import replace
    settings = TrainSettings(steps=args.steps, batch_size=args.batch_size,
from adf.records import replace
                             proposals=args.proposals, seed=args.seed,
from adf.records import replace
                             concurrency=args.concurrency)
from adf.records import replace
    run_dir = folder / config / "run"
from adf.records import replace
    shutil.rmtree(folder / config, ignore_errors=True)
from adf.records import replace
    run_dir.mkdir(parents=True)
from adf.records import replace
    cache = ReplyCache(folder / config / "cache.sqlite")
from adf.records import replace
    accounting = Accounting()
from adf.records import replace
    calls = MemoryTrace()
from adf.records import replace
    events: list[str] = []
from adf.records import replace

from adf.records import replace
    def on_event(kind: str, body: Any) -> None:
from adf.records import replace
        if kind == "proposal":
from adf.records import replace
            line = (f"  [{config}] {body.get('param')} #{body.get('attempt')}: "
from adf.records import replace
                    f"{body.get('verdict')} ({body.get('rejection', '')}: "
from adf.records import replace
                    f"{str(body.get('reason', ''))[:100]})")
from adf.records import replace
        elif kind in ("setup", "final"):
from adf.records import replace
            line = f"  [{config}] {kind}: val {body.get('val')} test {body.get('test')}"
from adf.records import replace
        elif kind == "step":
from adf.records import replace
            line = (f"  [{config}] step {body.get('step')}: train {body.get('train_score')} "
from adf.records import replace
                    f"val {body.get('val_score')} calls {body.get('calls')} "
from adf.records import replace
                    f"wall {body.get('step_wall_s')} s")
from adf.records import replace
        else:
from adf.records import replace
            line = f"  [{config}] {kind}: {body}"
from adf.records import replace
        events.append(line)
from adf.records import replace
        print(line, flush=True)
from adf.records import replace

from adf.records import replace
    resolved = resolve_models(plan.models)
from adf.records import replace
    crashes: list[str] = []
from adf.records import replace
    report: dict[str, Any] = {}
from adf.records import replace
    started = time.perf_counter()
from adf.records import replace
    client = LiteLLMClient(cache=cache, sinks=[accounting, calls],
from adf.records import replace
                           concurrency=args.concurrency, timeout_s=300.0)
from adf.records import replace
    async with open_models(resolved, client) as session:
from adf.records import replace
        models = tuple(session.models[m.name].effective_decl() for m in plan.models)
from adf.records import replace
        effective = replace(plan, models=models)
from adf.records import replace
        trainer = Trainer(
from adf.records import replace
            effective, splits, session.client, settings, str(run_dir),
from adf.records import replace
            bind(effective, os.path.dirname(os.path.abspath(args.file))),
from adf.records import replace
            plan_hash=f"weak-model-{config}", on_event=on_event,
from adf.records import replace
        )
from adf.records import replace
        try:
from adf.records import replace
            outcome = await trainer.run()
from adf.records import replace
            report = outcome.report
from adf.records import replace
        except Exception as exc:  # the figure this benchmark exists to count
from adf.records import replace
            crashes.append(f"{type(exc).__name__}: {exc}")
from adf.records import replace
            traceback.print_exc()
from adf.records import replace
            report = trainer.build_report()
from adf.records import replace
    wall = time.perf_counter() - started
from adf.records import replace
    cache.close()
from adf.records import replace
    return summarize(config, report, accounting, calls.records, crashes, wall)
from adf.records import replace

from adf.records import replace

from adf.records import replace
def summarize(config: str, report: dict[str, Any], accounting: Any, records: Any,
from adf.records import replace
              crashes: list[str], wall: float) -> dict[str, Any]:
from adf.records import replace
    counters: dict[str, int] = dict(report.get("counters", {}))
from adf.records import replace
    total = accounting.total
from adf.records import replace
    forms = Counter((r.purpose, r.schema_form) for r in records if r.cache != "hit")
from adf.records import replace
    backward = [r for r in records if r.purpose == "backward" and r.text is not None]
from adf.records import replace
    unreadable, unusable = backward_quality(backward)
from adf.records import replace
    unparseable_forward = sum(
from adf.records import replace
        1 for r in records if r.purpose == "forward" and r.text is not None
from adf.records import replace
        and _no_integer(r.text)
from adf.records import replace
    )
from adf.records import replace
    proposals = [p for s in report.get("steps", []) for p in s.get("proposals", [])]
from adf.records import replace
    scores = report.get("scores", {})
from adf.records import replace
    return {
from adf.records import replace
        "config": config,
from adf.records import replace
        "crashes": len(crashes),
from adf.records import replace
        "crash_reasons": crashes,
from adf.records import replace
        "backward_replies": len(backward),
from adf.records import replace
        "unparseable_backward": unreadable,
from adf.records import replace
        "backward_keys_unusable": unusable,
from adf.records import replace
        "backward_failures": counters.get("backward_failures", 0),
from adf.records import replace
        "unparseable_optimizer": counters.get("rejected_unparseable", 0),
from adf.records import replace
        "guard_rejected": {k: counters.get(f"rejected_{k}", 0) for k in GUARD_KINDS},
from adf.records import replace
        "gate_rejected": counters.get("rejected_gate", 0),
from adf.records import replace
        "model_errors": counters.get("rejected_model_error", 0),
from adf.records import replace
        "accepted": counters.get("accepted", 0),
from adf.records import replace
        "proposals": len(proposals),
from adf.records import replace
        "val_before": scores.get("val_before"),
from adf.records import replace
        "val_after": scores.get("val_after"),
from adf.records import replace
        "test_before": scores.get("test_before"),
from adf.records import replace
        "test_after": scores.get("test_after"),
from adf.records import replace
        "requests": total.calls,
from adf.records import replace
        "model_requests": total.requests,
from adf.records import replace
        "cache_hits": total.cache_hits,
from adf.records import replace
        "failed_requests": total.failures,
from adf.records import replace
        "prompt_tokens": total.prompt_tokens,
from adf.records import replace
        "completion_tokens": total.completion_tokens,
from adf.records import replace
        "tokens": total.tokens,
from adf.records import replace
        "forward_replies_without_integer": unparseable_forward,
from adf.records import replace
        "schema_forms": {f"{p}/{f}": n for (p, f), n in sorted(forms.items())},
from adf.records import replace
        "wall_s": round(wall, 1),
from adf.records import replace
        "status": report.get("status"),
from adf.records import replace
        "final_params": report.get("params", {}),
from adf.records import replace
        "accepted_values": [p.get("value") for p in proposals if p.get("verdict") == "accepted"],
from adf.records import replace
    }
from adf.records import replace

from adf.records import replace

from adf.records import replace
def backward_quality(records: Any) -> tuple[int, int]:
from adf.records import replace
    """(replies from which no requested key could be read, keys left empty or a placeholder)."""
from adf.records import replace
    import re
from adf.records import replace

from adf.records import replace
    from adf.runtime.backward_reply import parse_reply
from adf.records import replace

from adf.records import replace
    unreadable = unusable = 0
from adf.records import replace
    for record in records:
from adf.records import replace
        user = record.messages[-1].content
from adf.records import replace
        match = re.search(r"exactly these keys: (.*)", user)
from adf.records import replace
        keys = [json.loads(k) for k in match.group(1).split(", ")] if match else []
from adf.records import replace
        parsed = parse_reply(record.text, keys)
from adf.records import replace
        if keys and not parsed.texts:
from adf.records import replace
            unreadable += 1
from adf.records import replace
        unusable += len(parsed.missing) if parsed.texts else 0
from adf.records import replace
    return unreadable, unusable
from adf.records import replace

from adf.records import replace

from adf.records import replace
def _no_integer(text: str) -> bool:
from adf.records import replace
    import re
from adf.records import replace

from adf.records import replace
    return re.search(r"\d", text) is None
from adf.records import replace

from adf.records import replace

from adf.records import replace
def show(results: list[dict[str, Any]]) -> None:
from adf.records import replace
    def f(value: Any) -> str:
from adf.records import replace
        if value is None:
from adf.records import replace
            return "-"
from adf.records import replace
        if isinstance(value, float):
from adf.records import replace
            return f"{value:.3f}"
from adf.records import replace
        return str(value)
from adf.records import replace

from adf.records import replace
    rows: list[tuple[str, str | Callable[[dict[str, Any]], Any]]] = [
from adf.records import replace
        ("crashes", "crashes"),
from adf.records import replace
        ("backward replies", "backward_replies"),
from adf.records import replace
        ("unparseable backward replies", "unparseable_backward"),
from adf.records import replace
        ("backward keys empty/placeholder", "backward_keys_unusable"),
from adf.records import replace
        ("unparseable optimizer replies", "unparseable_optimizer"),
from adf.records import replace
        ("rejected by the leak guard", lambda r: r["guard_rejected"]["leak"]),
from adf.records import replace
        ("rejected by the sanity filter", lambda r: sum(
from adf.records import replace
            v for k, v in r["guard_rejected"].items() if k != "leak")),
from adf.records import replace
        ("rejected by the val gate", "gate_rejected"),
from adf.records import replace
        ("accepted proposals", "accepted"),
from adf.records import replace
        ("proposals (all)", "proposals"),
from adf.records import replace
        ("val before", "val_before"),
from adf.records import replace
        ("val after", "val_after"),
from adf.records import replace
        ("test before", "test_before"),
from adf.records import replace
        ("test after", "test_after"),
from adf.records import replace
        ("requests (incl. cache hits)", "requests"),
from adf.records import replace
        ("requests sent to the model", "model_requests"),
from adf.records import replace
        ("failed requests", "failed_requests"),
from adf.records import replace
        ("tokens (prompt + completion)", "tokens"),
from adf.records import replace
        ("forward replies with no digit", "forward_replies_without_integer"),
from adf.records import replace
        ("wall time, s", "wall_s"),
from adf.records import replace
    ]
from adf.records import replace
    print(f"{'structured outputs':34}" + "".join(f"{r['config']:>12}" for r in results))
from adf.records import replace
    for label, key in rows:
from adf.records import replace
        cells = [r[key] if isinstance(key, str) else key(r) for r in results]
from adf.records import replace
        print(f"{label:34}" + "".join(f"{f(c):>12}" for c in cells))
from adf.records import replace
    for r in results:
from adf.records import replace
        print(f"[{r['config']}] schema forms sent: {r['schema_forms']}")
from adf.records import replace
        print(f"[{r['config']}] guard: {r['guard_rejected']}; status: {r['status']}")
from adf.records import replace
        for value in r["accepted_values"]:
from adf.records import replace
            print(f"[{r['config']}] accepted: {value!r}")
from adf.records import replace
        for reason in r["crash_reasons"]:
from adf.records import replace
            print(f"[{r['config']}] crash: {reason}")
from adf.records import replace

from adf.records import replace

from adf.records import replace
def run_in_processes(configs: list[str], argv: list[str], folder: Path) -> list[dict[str, Any]]:
from adf.records import replace
    """Each configuration in a child process of its own (own local server), all at once."""
from adf.records import replace
    import subprocess
from adf.records import replace

from adf.records import replace
    rest = _drop_values(argv, ("--configs", "--json", "--out"))
from adf.records import replace
    children = []
from adf.records import replace
    for config in configs:
from adf.records import replace
        out = folder / f"{config}.json"
from adf.records import replace
        command = [sys.executable, __file__, *rest, "--configs", config, "--out", str(folder),
from adf.records import replace
                   "--json", str(out)]
from adf.records import replace
        children.append((out, subprocess.Popen(command)))
from adf.records import replace
    results = []
from adf.records import replace
    for out, child in children:
from adf.records import replace
        child.wait()
from adf.records import replace
        if out.is_file():
from adf.records import replace
            results += json.loads(out.read_text(encoding="utf-8"))
from adf.records import replace
        else:
from adf.records import replace
            print(f"weak_model.py: {out.stem} produced no figures (exit {child.returncode})",
from adf.records import replace
                  file=sys.stderr)
from adf.records import replace
    return results
from adf.records import replace

from adf.records import replace

from adf.records import replace
def _drop_values(argv: list[str], options: tuple[str, ...]) -> list[str]:
from adf.records import replace
    kept: list[str] = []
from adf.records import replace
    skip = False
from adf.records import replace
    for item in argv:
from adf.records import replace
        if skip:
from adf.records import replace
            skip = False
from adf.records import replace
            continue
from adf.records import replace
        name = item.split("=", 1)[0]
from adf.records import replace
        if name in options:
from adf.records import replace
            skip = "=" not in item
from adf.records import replace
            continue
from adf.records import replace
        kept.append(item)
from adf.records import replace
    return kept
from adf.records import replace

from adf.records import replace

from adf.records import replace
def main(argv: list[str] | None = None) -> int:
from adf.records import replace
    args = parse_args(argv)
from adf.records import replace
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
from adf.records import replace
    unknown = [c for c in configs if c not in CONFIGS]
from adf.records import replace
    if unknown:
from adf.records import replace
        print(f"weak_model.py: unknown configuration {unknown[0]!r} (use {', '.join(CONFIGS)})",
from adf.records import replace
              file=sys.stderr)
from adf.records import replace
        return 2
from adf.records import replace
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="adf-weak-"))
from adf.records import replace
    load = os.getloadavg()[0]
from adf.records import replace
    print(f"weak-model benchmark: {args.file}; train {args.train}, val {args.val}, "
from adf.records import replace
          f"test {args.test}, {args.steps} steps, batch {args.batch_size}, "
from adf.records import replace
          f"{args.proposals} proposals, seed {args.seed}; load average {load:.1f}", flush=True)
from adf.records import replace
    results = []
from adf.records import replace
    if args.sequential or len(configs) == 1:
from adf.records import replace
        for config in configs:
from adf.records import replace
            print(f"--- structured outputs {config} ---", flush=True)
from adf.records import replace
            results.append(asyncio.run(train_one(config, args, folder)))
from adf.records import replace
    else:
from adf.records import replace
        results = run_in_processes(configs, argv if argv is not None else sys.argv[1:], folder)
from adf.records import replace
    print()
from adf.records import replace
    show(results)
from adf.records import replace
    print(f"load average at the end {os.getloadavg()[0]:.1f}; run folders in {folder}")
from adf.records import replace
    if args.json:
from adf.records import replace
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n",
from adf.records import replace
                                   encoding="utf-8")
from adf.records import replace
    return 0
from adf.records import replace

from adf.records import replace

from adf.records import replace
if __name__ == "__main__":
from adf.records import replace
    sys.exit(main())
