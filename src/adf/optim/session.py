"""One `adfc train` invocation, from a compiled plan to the lock file.

Takes the parsed command-line options, the `.adf` path and its compiled
plan; gives an exit status after: resolving models (overrides, local
server), applying the lock file, loading the data splits, printing the
forecast (and stopping there for `--dry-run`), running or resuming the
`Trainer` with a progress display, then writing the lock file and, with
`--write`, the trained literals into the source. Kept apart from the CLI
module so the CLI stays cheap to import.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
from typing import Any

import attrs

from adf.optim.budget import Limits
from adf.optim.estimate import estimate_training
from adf.optim.lockfile import LockError, apply_lock_verbose, plan_hash, write_lock
from adf.optim.trainer import Splits, Trainer, TrainError, TrainSettings, values_changed
from adf.optim.writeback import WriteBackError, write_back
from adf.plan.schema import Plan
from adf.runtime.data import DataError, Sample, load_data, resolve_path
from adf.runtime.executor import ExecutorError, ExecutorMissing


class UsageError(Exception):
    """Bad options or unreadable input; one line for the user (exit 2)."""


def compile_program(path: str) -> Plan | str:
    """The plan of `path`, or the rendered diagnostics when it has errors."""
    from adf.compiler.pipeline import compile_file

    result = compile_file(path)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors or result.plan is None:
        return render_diagnostics(result, errors or list(result.diagnostics))
    plan: Plan = result.plan
    return plan


def render_diagnostics(result: Any, diagnostics: list[Any]) -> str:
    from adf.compiler.render import render_human

    return render_human(diagnostics, {result.file: result.source})


def compile_text(text: str, near: str) -> Plan | None:
    """Compile source text as if it were the file `near` (for write-back checks)."""
    from adf.compiler.pipeline import compile_source

    result = compile_source(text, near)
    return result.plan if result.ok else None


def _load(plan: Plan, folder: str, split: str, limit: int | None) -> tuple[Sample, ...]:
    data = load_data(plan, folder, split=split, limit=limit)
    return data.samples


def load_splits(plan: Plan, folder: str, args: argparse.Namespace, seed: int) -> Splits:
    if not os.path.isdir(folder):
        raise UsageError(f"data folder {folder} not found (use --data DIR)")
    notes: list[str] = []
    try:
        train = _load(plan, folder, args.train_split, args.train_limit)
        if not train:
            raise UsageError(f"the {args.train_split} split in {folder} has no usable rows")
        try:
            resolve_path(folder, args.val_split)
            val = _load(plan, folder, args.val_split, args.val_limit)
        except DataError:
            import random

            order = list(train)
            random.Random(seed).shuffle(order)
            cut = max(1, len(order) // 4)
            val = tuple(order[:cut][: args.val_limit or None])
            train = tuple(s for s in train if s not in set(order[:cut]))
            notes.append(f"no {args.val_split} split: held out {len(val)} training samples "
                         "for validation")
        test: tuple[Sample, ...] = ()
        if args.test_limit != 0:
            try:
                resolve_path(folder, args.test_split)
                test = _load(plan, folder, args.test_split, args.test_limit)
            except DataError:
                notes.append(f"no {args.test_split} split: test scores are not reported")
    except DataError as exc:
        raise UsageError(str(exc)) from None
    return Splits(tuple(train), tuple(val), test, tuple(notes))


def settings_of(args: argparse.Namespace) -> TrainSettings:
    steps = args.steps if args.max_steps is None else min(args.steps, args.max_steps)
    return TrainSettings(
        steps=steps,
        batch_size=args.batch_size,
        proposals=args.proposals,
        demo_proposals=args.demo_proposals,
        seed=args.seed,
        threshold=args.threshold,
        concurrency=args.concurrency,
        accept_ties=args.accept_ties,
        limits=Limits(max_steps=args.max_steps, max_calls=args.max_calls,
                      max_tokens=args.max_tokens, max_usd=args.max_usd),
    )


def train(args: argparse.Namespace, path: str, base_plan: Plan) -> int:
    from rich.console import Console

    from adf.cli.train import format_event, latest_run, new_run_dir
    from adf.llm.models import ModelConfigError, parse_overrides, resolve_models

    console = Console(highlight=False)
    try:
        overrides = parse_overrides(args.model, args.api_base)
        resolved = resolve_models(base_plan.models, overrides)
    except ModelConfigError as exc:
        raise UsageError(str(exc)) from None
    start_plan = base_plan
    if not args.no_lock and not args.resume:  # a resumed run takes its values from the checkpoint
        try:
            locked = apply_lock_verbose(base_plan, path)
        except LockError as exc:
            raise UsageError(f"{exc} (use --no-lock to ignore it)") from None
        start_plan = locked.plan
        if locked.applied:
            console.print(f"starting from {locked.path}: {', '.join(locked.applied)}")
        for name, why in locked.stale:
            console.print(f"[yellow]lock entry {name} not used:[/] {why}")
    settings = settings_of(args)
    folder = args.data or os.path.join(os.path.dirname(os.path.abspath(path)), "data")
    splits = load_splits(start_plan, folder, args, settings.seed)
    for note in splits.notes:
        console.print(f"[yellow]note:[/] {note}")
    forecast = estimate_training(
        start_plan, splits.train, len(splits.val), len(splits.test), steps=settings.steps,
        batch_size=settings.batch_size, proposals=settings.proposals,
        demo_proposals=settings.demo_proposals, max_errors=settings.max_errors,
        max_passed=settings.max_passed,
    )
    dollars = f", about ${forecast.usd:.4f}" if forecast.usd is not None else ""
    console.print(
        f"data: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}; "
        f"forecast: about {forecast.calls} model calls, {forecast.tokens} tokens{dollars}"
    )
    llm_calls = sum(1 for node in start_plan.nodes if node.kind == "llm")  # per sample
    setup_calls = (len(splits.val) + len(splits.test)) * llm_calls  # scoring the start
    if args.max_calls is not None and forecast.calls > args.max_calls:
        fits = "fits" if setup_calls <= args.max_calls else "does not fit"
        console.print(
            f"[yellow]note:[/] the forecast ({forecast.calls} calls) is above --max-calls "
            f"{args.max_calls}: the run will stop early at the budget (scoring val and test "
            f"at the start alone takes about {setup_calls} calls, which {fits})"
        )
    if args.dry_run:
        for role, counts in forecast.by_role.items():
            console.print(f"  {role:9} {counts['calls']:6} calls  "
                          f"{counts['prompt_tokens'] + counts['completion_tokens']:9} tokens")
        console.print("assumptions: " + "; ".join(forecast.assumptions))
        return 0
    stem = os.path.splitext(os.path.basename(path))[0]
    if args.resume:
        run_dir = args.out or latest_run(stem)
        if run_dir is None or not os.path.isfile(os.path.join(run_dir, "checkpoint.json")):
            raise UsageError("no run to resume (no checkpoint found; give --out DIR)")
    else:
        run_dir = args.out or new_run_dir(stem)
        if os.path.isfile(os.path.join(run_dir, "checkpoint.json")):
            raise UsageError(f"{run_dir} already holds a run; use --resume or another --out")
    os.makedirs(run_dir, exist_ok=True)
    identity = hashlib.sha256(
        (plan_hash(base_plan) + repr(overrides)
         + repr(attrs.asdict(attrs.evolve(settings, steps=0, limits=Limits())))).encode()
    ).hexdigest()
    holder: dict[str, Trainer] = {}

    def on_event(kind: str, data: Any) -> None:
        if args.quiet and kind in ("step", "proposal"):
            return
        line = format_event(kind, data, settings.steps)
        if line:
            console.print(line)

    async def run() -> Any:
        from adf.llm.cache import DEFAULT_PATH, ReplyCache
        from adf.llm.models import open_models
        from adf.runtime.bindings import bind
        from adf.scale import open_executor

        cache = None if args.no_cache else ReplyCache(args.cache or DEFAULT_PATH)
        async with open_models(resolved, cache=cache, concurrency=settings.concurrency) as session:
            models = tuple(session.models[m.name].effective_decl() for m in start_plan.models)
            plan = attrs.evolve(start_plan, models=models)
            base_dir = os.path.dirname(os.path.abspath(path))
            bindings = bind(plan, base_dir)
            with open_executor(args.executor, plan, base_dir, session.client,
                               cache_path=None if cache is None else str(cache.path),
                               concurrency=settings.concurrency, workers=args.workers,
                               rpm=args.rpm) as executor:
                trainer = Trainer(
                    plan, splits, session.client, settings, run_dir, bindings,
                    plan_hash=identity, on_event=on_event,
                    program={"source": os.path.basename(path),
                             "source_hash": base_plan.source_hash,
                             "plan_hash": plan_hash(base_plan)},
                    estimate=forecast.to_json(), executor=executor,
                )
                holder["trainer"] = trainer
                return await trainer.run(resume=args.resume)

    console.print(f"run folder: {run_dir}")
    try:
        outcome = asyncio.run(run())
    except KeyboardInterrupt:
        trainer = holder.get("trainer")
        if trainer is not None:
            from adf.optim.report import write_report

            report = trainer.build_report()
            report["status"] = f"interrupted after step {trainer.state.step}"
            write_report(run_dir, report)
        console.print(f"\ninterrupted: the checkpoint in {run_dir} keeps every finished step; "
                      f"continue with: adfc train {path} --resume --out {run_dir}")
        return 130
    except (TrainError, ExecutorError) as exc:
        console.print(f"[red]training failed:[/] {exc}")
        return 2 if isinstance(exc, ExecutorMissing) else 1
    except Exception as exc:
        from adf.runtime.bindings import BindError

        if isinstance(exc, BindError):
            console.print(f"[red]cannot load the program's functions:[/] {exc}")
            return 1
        raise
    return _finish(console, args, path, base_plan, outcome)


def _finish(console: Any, args: argparse.Namespace, path: str, base_plan: Plan, outcome: Any) -> int:
    state = outcome.state
    scores = outcome.report["scores"]

    def f(value: Any) -> str:
        return "–" if value is None else f"{value:.3f}"

    console.print(f"validation {f(scores['val_before'])} -> {f(scores['val_after'])}; "
                  f"test {f(scores['test_before'])} -> {f(scores['test_after'])}")
    if outcome.stopped_by:
        console.print(f"[yellow]stopped early:[/] {outcome.stopped_by}")
    usage = outcome.report["usage"]
    console.print(f"model calls {usage['calls']} ({usage['cache_hits']} from cache), "
                  f"tokens {usage['tokens']}")
    console.print(f"report: {outcome.report_html}")
    if state.phase != "done":
        return 1
    trainable = {p.name: state.values[p.name] for p in base_plan.params if not p.frozen}
    changed = values_changed(base_plan, trainable)
    info = {"run": outcome.report_json, "val_before": scores["val_before"],
            "val_after": scores["val_after"], "test_before": scores["test_before"],
            "test_after": scores["test_after"], "status": outcome.report["status"]}
    if not changed:
        console.print("no parameter changed: no lock file written")
        return 0
    lock = write_lock(path, base_plan, trainable, info)
    console.print(f"lock file: {lock} ({', '.join(sorted(changed))})")
    if args.write:
        source_values = {p.name: (p.value if p.kind == "prompt" else p.demos)
                         for p in base_plan.params if p.name in changed}
        try:
            written = write_back(path, changed, source_values, lambda t: compile_text(t, path))
        except WriteBackError as exc:
            console.print(f"[red]--write failed:[/] {exc}")
            return 1
        for name, why in written.skipped:
            console.print(f"[yellow]not written:[/] {name}: {why}")
        if written.changed:
            console.print(f"wrote {', '.join(written.changed)} into {path}")
            with open(path, encoding="utf-8") as handle:
                fresh = compile_text(handle.read(), path)
            if fresh is not None:
                write_lock(path, fresh, trainable, info)
    return 0
