"""`adfc train FILE`: train a workflow's parameters on its data.

Takes the `.adf` path and options (data splits and limits, steps, batch
size, proposals, seed, budgets, model overrides, run folder); gives a run
folder with `checkpoint.json`, `report.json` and `report.html`, a lock file
`FILE.lock` next to the source holding the trained values (when any value
changed), and with `--write` the trained literals written into the source.
`--dry-run` prints the forecast of calls, tokens and dollars and stops.
`--resume` continues the latest run of this file (or `--out DIR`) exactly
where its last checkpoint left it. Ctrl-C, SIGTERM and SIGHUP keep the last
checkpoint and a report and print the one command that resumes. Exit status:
0 done (also when a budget stopped the run), 1 diagnostics, failed training,
or a lock file not written (the values stay in the run folder and the
command that writes them is printed), 2 usage or I/O error (a busy run
folder, an output that cannot be written, a full disk), 128 + the signal's
number when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

Heavy modules (the runtime, litellm) are imported inside `execute`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from adf.cli._executor import add_executor_arguments
from adf.cli._options import (
    add_override_arguments,
    add_training_arguments,
    data_settings,
    train_settings,
)

if TYPE_CHECKING:
    from adf.workflow.training import Prepared, TrainOptions


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the .adf program to train")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: data/ next to FILE)")
    add_training_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--dry-run", action="store_true", help="print the cost forecast and stop")
    out.add_argument("--resume", action="store_true", help="continue the last run (or --out DIR)")
    out.add_argument("--write", action="store_true",
                     help="rewrite the trained literals in FILE (comments are kept)")
    out.add_argument("--out", metavar="DIR", help="run folder (default: runs/NAME-TIMESTAMP)")
    out.add_argument("--force", action="store_true",
                     help="replace FILE.lock even if this run did not start from it")
    out.add_argument("--quiet", action="store_true", help="no per-step progress")
    add_override_arguments(parser.add_argument_group("models"))
    add_executor_arguments(parser)


def _fail(message: str, status: int = 2) -> int:
    print(f"adfc train: {message}", file=sys.stderr)
    return status


def train_options(args: argparse.Namespace) -> TrainOptions:
    from adf.workflow.training import TrainOptions

    return TrainOptions(train_settings(args), data_settings(args, args.data), out=args.out,
                        resume=args.resume, use_lock=not args.no_lock, force=args.force)


def execute(args: argparse.Namespace) -> int:
    from rich.console import Console

    from adf.cli._command import run_options
    from adf.workflow import WorkflowError
    from adf.workflow.training import prepare_training

    console = Console(highlight=False)
    try:
        prepared = prepare_training(args.file, train_options(args), run_options(args))
        return _train(console, args, prepared)
    except WorkflowError as exc:
        if exc.details:
            print(exc.details, file=sys.stderr)
            return exc.status
        if exc.status == 1 and exc.message.startswith(("training failed", "cannot load")):
            head, _, rest = exc.message.partition(": ")
            console.print(f"[red]{head}:[/] {escape(rest)}")
            return 1
        return _fail(exc.message, exc.status)


def _train(console: Any, args: argparse.Namespace, prepared: Prepared) -> int:

    from adf.workflow.training import hold_run, run_folder

    lock = prepared.lock
    if lock is not None:
        if lock.applied:
            console.print(f"starting from {lock.path}: {', '.join(lock.applied)}")
        for name, why in lock.stale:
            console.print(f"[yellow]lock entry {name} not used:[/] {escape(why)}")
    for note in prepared.splits.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for bad in prepared.splits.bad_rows[:10]:
        console.print(f"  bad row {bad.where}: {bad.message}", markup=False)
    if len(prepared.splits.bad_rows) > 10:
        console.print(f"  ... and {len(prepared.splits.bad_rows) - 10} more in the report")
    forecast, splits = prepared.forecast, prepared.splits
    total = forecast.total
    dollars = f", about ${forecast.dollars:.4f}" if forecast.dollars is not None else ""
    console.print(
        f"data: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}; "
        f"forecast: about {total.calls} model calls, {total.tokens} tokens{dollars}"
    )
    if forecast.has_range:
        from adf.analysis.costreport import token_range

        console.print(f"  {token_range(forecast)}", markup=False)
    if args.max_calls is not None and total.calls > args.max_calls:
        fits = "fits" if prepared.setup_calls <= args.max_calls else "does not fit"
        console.print(
            f"[yellow]note:[/] the forecast ({total.calls} calls) is above --max-calls "
            f"{args.max_calls}: the run will stop early at the budget (scoring val and test "
            f"at the start alone takes about {prepared.setup_calls} calls, which {fits})"
        )
    if args.dry_run:
        for role, usage in forecast.by_role().items():
            console.print(f"  {role:9} {usage.calls:6} calls  {usage.tokens:9} tokens")
        console.print("assumptions: " + "; ".join(forecast.assumptions))
        return 0
    run_dir = run_folder(prepared)
    with hold_run(prepared, run_dir) as lock_base:
        return _run(console, args, prepared, run_dir, lock_base)


def _run(console: Any, args: argparse.Namespace, prepared: Prepared, run_dir: str,
         lock_base: Any) -> int:
    """Train in `run_dir` (held by this process); SIGTERM and SIGHUP stop it like Ctrl-C."""
    import asyncio

    from adf.cli.interrupt import exit_status, resume_command, stop_signals
    from adf.optim.runlock import describe_os_error
    from adf.workflow.training import TrainingRun

    steps = prepared.settings.run_steps

    def on_event(kind: str, data: Mapping[str, Any]) -> None:
        if args.quiet and kind in ("step", "proposal"):
            return
        line = format_event(kind, data, steps)
        if line:
            console.print(line)

    job = TrainingRun(prepared, run_dir, on_event)
    console.print(f"run folder: {run_dir}", soft_wrap=True)
    seen = None
    try:
        with stop_signals() as seen:
            outcome = asyncio.run(job.run())
    except KeyboardInterrupt:
        assert seen is not None
        why = job.record_interrupt(seen.name)
        if why is not None:
            console.print(f"[yellow]no report written:[/] {why}")
        if job.has_checkpoint():
            console.print(f"\ninterrupted ({seen.name}): the checkpoint in {escape(run_dir)} "
                          f"keeps every finished step; continue with: "
                          f"{escape(resume_command(args, run_dir))}", soft_wrap=True)
        else:
            console.print(f"\ninterrupted ({seen.name}) before the first checkpoint: nothing "
                          "to resume; run the same command again to start over", soft_wrap=True)
        return exit_status(seen)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else f" in {run_dir}"
        console.print(f"[red]training stopped:[/] cannot write{escape(where)}: "
                      f"{describe_os_error(exc)}; the last checkpoint keeps every finished "
                      f"step; once there is room, continue with: "
                      f"{escape(resume_command(args, run_dir))}", soft_wrap=True)
        return 2
    return _finish(console, args, prepared, outcome, run_dir, lock_base)


def _finish(console: Any, args: argparse.Namespace, prepared: Prepared, outcome: Any,
            run_dir: str, lock_base: Any) -> int:
    from adf.workflow.training import save_trained

    scores = outcome.report["scores"]

    def f(value: Any) -> str:
        return "–" if value is None else f"{value:.3f}"

    console.print(f"validation {f(scores['val_before'])} -> {f(scores['val_after'])}; "
                  f"test {f(scores['test_before'])} -> {f(scores['test_after'])}")
    if outcome.stopped_by:
        console.print(f"[yellow]stopped early:[/] {outcome.stopped_by}")
    usage = outcome.report["usage"]
    console.print(f"model calls {usage['calls']} ({usage['cache_hits']} from cache, "
                  f"{usage['requests']} provider requests, {usage['retries']} retries, "
                  f"{usage['failures']} failed), tokens {usage['tokens']}")
    console.print(f"report: {outcome.report_html}")
    if outcome.state.phase != "done":
        return 1
    saved = save_trained(prepared, outcome, lock_base, write=args.write)
    if saved.lock_error is not None:
        from adf.cli.interrupt import resume_command

        command = escape(resume_command(args, run_dir, force=saved.lock_conflict))
        if saved.lock_conflict:
            console.print(f"[yellow]{escape(saved.lock_error)}.[/] This run's values are kept "
                          f"in {escape(outcome.report_json)}; to write them over it: {command}",
                          soft_wrap=True)
        else:
            console.print(f"[red]cannot write the lock file:[/] {escape(saved.lock_error)}. "
                          f"The trained values are kept in {escape(outcome.report_json)}; once "
                          f"it can be written: {command}", soft_wrap=True)
        return 1
    if saved.lock_file is None:
        console.print("no parameter changed: no lock file written")
        return 0
    console.print(f"lock file: {saved.lock_file} ({', '.join(saved.changed)})")
    if saved.write_error is not None:
        console.print(f"[red]--write failed:[/] {escape(saved.write_error)}")
        return 1
    for name, why in saved.skipped:
        console.print(f"[yellow]not written:[/] {name}: {escape(why)}")
    if saved.written:
        console.print(f"wrote {', '.join(saved.written)} into {prepared.path}")
    return 0


def format_event(kind: str, data: Mapping[str, Any], steps: int) -> str | None:
    def f(value: Any) -> str:
        return "–" if value is None else f"{value:.3f}"

    if kind == "setup":
        return f"[bold]start[/]  val {f(data.get('val'))}  test {f(data.get('test'))}"
    if kind == "step":
        cost = data.get("cost_usd") or 0.0
        dollars = f"  ${cost:.4f}" if cost else ""
        stopped = f"  [yellow]{data['stopped']}[/]" if data.get("stopped") else ""
        if data.get("call_failed"):
            stopped += f"  [yellow]not scored {data['call_failed']} (model calls failed)[/]"
        return (f"[bold]step {data['step']}/{steps}[/]  train {f(data.get('train_score'))}  "
                f"val {f(data.get('val_score'))}  "
                f"[green]accepted {data.get('accepted', 0)}[/] "
                f"[red]rejected {data.get('rejected', 0)}[/]  "
                f"calls {data.get('calls', 0)} (requests {data.get('requests', 0)}, "
                f"retries {data.get('retries', 0)}, failed {data.get('failures', 0)})  "
                f"tokens {data.get('tokens', 0)}{dollars}{stopped}")
    if kind == "proposal":
        verdict = data.get("verdict", "")
        colour = "green" if verdict == "accepted" else "red"
        return (f"   {data.get('param')} #{data.get('attempt')}: [{colour}]{verdict}[/] "
                f"({data.get('rejection', '') + ': ' if verdict != 'accepted' else ''}"
                f"{data.get('reason', '')})")
    if kind == "stopped":
        return f"[yellow]budget reached:[/] {data.get('reason')}"
    if kind == "final":
        return f"[bold]end[/]  val {f(data.get('val'))}  test {f(data.get('test'))}"
    return None
