"""Credit assignment: does feedback reach the right parameter, and does the gate keep it?

Runs the real trainer on the scripted task of `adf.testing.credit_task`
(cue phrases spread over the parameters of a one-node and a two-node
workflow; the fake backward engine names a missing cue only for the
parameter lacking it; the fake optimizer adds the cues it is told to add),
through an in-process client, over several seeds, and prints per seed the
cues found, validation per step, test before/after and tokens by role; then
the means. `--wrong 0.25` makes a quarter of the reviews advise a harmful
phrase; the report says whether it was kept. `--workflows trap` runs the
one-node workflow with a shortcut cue that blocks the others while it is in
place (a dead end for a greedy path; compare `--set strategy=pool`).

    python bench/credit_assignment.py [--seeds 5] [--steps 8] [--wrong 0.0] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


from adf.compiler.pipeline import compile_source
from adf.optim.trainer import Splits, Trainer
from adf.plan.settings import TrainSettings
from adf.records import replace
from adf.runtime.bindings import bind
from adf.runtime.data import Sample
from adf.testing import credit_task as task


def _samples(items: list[dict[str, Any]]) -> tuple[Sample, ...]:
    return tuple(Sample(r["id"], (("question", r["question"]),), (("answer", r["answer"]),))
                 for r in items)


def run_one(workflow: task.Workflow, seed: int, steps: int, wrong: float,
            settings: dict[str, Any], start: int = 0) -> dict[str, Any]:
    result = compile_source(workflow.source.format(base="http://127.0.0.1:9"), "credit.adf")
    assert result.plan is not None, [d.message for d in result.diagnostics]
    plan = result.plan
    given = list(workflow.owner.items())[:start]  # cues the initial prompts already hold
    plan = replace(plan, params=tuple(
        replace(p, value=" ".join([p.value, *(f"{c}." for c, o in given if o == p.name)]))
        for p in plan.params))
    splits = Splits(_samples(task.rows(workflow, "t", 2)), _samples(task.rows(workflow, "v")),
                    _samples(task.rows(workflow, "x")))
    client = task.ScriptedClient(task.responder(workflow, wrong=wrong))
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(plan, splits, client, TrainSettings(steps=steps, seed=seed, **settings),
                          folder, bind(plan), plan_hash="bench")
        outcome = asyncio.run(trainer.run())
    state = outcome.state
    vals = [state.val_before or 0.0] + [r.val_score or 0.0 for r in state.records]
    return {
        "seed": seed,
        "cues": task.cues_found(workflow, state.values),
        "of": task.cue_count(workflow),
        "shortcut_kept": bool(workflow.shortcut) and any(
            workflow.shortcut in str(v) for v in state.values.values()),
        "val": vals,
        "test": [state.test_before, state.test_after],
        "harm_kept": any(task.HARM in str(v) for v in state.values.values()),
        "calls": dict(client.calls),
        "tokens": dict(client.tokens),
        "total_tokens": sum(client.tokens.values()),
        "train_tokens": sum(v for k, v in client.tokens.items()),
        "values": {k: str(v) for k, v in state.values.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--wrong", type=float, default=0.0)
    parser.add_argument("--workflows", default="one,two")
    parser.add_argument("--start", type=int, default=0,
                        help="cues the initial prompts already hold (a high-accuracy start)")
    parser.add_argument("--set", action="append", default=[],
                        help="a TrainSettings field, e.g. --set strategy=joint")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    settings: dict[str, Any] = {}
    for item in args.set:
        key, _, raw = item.partition("=")
        settings[key] = json.loads(raw) if raw[:1] in "0123456789-[{tf" else raw
    out: dict[str, Any] = {}
    print(f"load average {os.getloadavg()[0]:.1f}; steps {args.steps}; wrong reviews "
          f"{args.wrong:.2f}; cues given {args.start}; settings {settings or 'defaults'}")
    for name in args.workflows.split(","):
        workflow = task.WORKFLOWS[name]
        runs = [run_one(workflow, seed, args.steps, args.wrong, settings, args.start)
                for seed in range(args.seeds)]
        out[name] = runs
        print(f"\n{name}-node workflow: {task.cue_count(workflow)} cues, val ceiling "
              f"{task.ceiling(workflow):.2f}")
        print(" seed  cues  val by step" + " " * (6 * args.steps - 8) + "  test before/after  tokens"
              "  (optimizer, backward, forward)  harm kept")
        for run in runs:
            vals = " ".join(f"{v:.2f}" for v in run["val"])
            t = run["tokens"]
            print(f" {run['seed']:4d}  {run['cues']}/{run['of']}   {vals}   "
                  f"{run['test'][0]:.2f} -> {run['test'][1]:.2f}   {run['total_tokens']:6d}"
                  f"  ({t.get('optimizer', 0)}, {t.get('backward', 0)}, {t.get('forward', 0)})"
                  f"  {'YES' if run['harm_kept'] else 'no'}")
        finals = [r["val"][-1] for r in runs]
        tokens = [r["total_tokens"] for r in runs]
        ceil = sum(1 for r in runs if r["cues"] == r["of"])
        print(f" mean: val {statistics.mean(r['val'][0] for r in runs):.2f} -> "
              f"{statistics.mean(finals):.2f} (min {min(finals):.2f}, max {max(finals):.2f}); "
              f"all cues on {ceil}/{len(runs)} seeds; tokens {statistics.mean(tokens):.0f} "
              f"(min {min(tokens)}, max {max(tokens)}); harm kept on "
              f"{sum(r['harm_kept'] for r in runs)} seeds"
              + (f"; ended on the shortcut on {sum(r['shortcut_kept'] for r in runs)} seeds"
                 if workflow.shortcut else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
