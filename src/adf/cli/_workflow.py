"""What `adfc run`, `eval` and `backward` share: load a workflow, open its models, report.

Takes parsed command-line arguments; gives the plan (compiled in memory from
a `.adf`, or loaded from a `.plan`), the directory its `py` bindings are
imported from, a plan whose models carry the run-time overrides
(`--model NAME=X`, `--api-base NAME=URL`, `ADF_MODEL_<NAME>`, ...), and the
opened model session. Every expected failure becomes a `CliError` holding a
one-line message and the exit status (1 failed work or diagnostics, 2 usage
or I/O), so each command prints one clear line instead of a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

from adf.cli._args import positive_int

if TYPE_CHECKING:
    from adf.llm.accounting import Accounting
    from adf.llm.models import ModelSession
    from adf.plan.schema import Plan
    from adf.runtime.data import DataSet


class CliError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@attrs.frozen
class Workflow:
    plan: Plan
    base_dir: str
    file: str


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=MODEL",
                        help="call declared model NAME with this litellm model (repeatable)")
    parser.add_argument("--api-base", action="append", default=[], metavar="NAME=URL",
                        help="send declared model NAME's calls to this URL (repeatable)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the reply cache (.adf/cache.sqlite)")
    parser.add_argument("--cache", default=None, metavar="PATH",
                        help="reply cache file (default: .adf/cache.sqlite)")
    parser.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                        help="samples and model calls in flight at once (default 8)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="seconds before one model call times out (default 120)")
    parser.add_argument("--trace", default=None, metavar="FILE.jsonl",
                        help="append one JSON line per model call to this file")
    parser.add_argument("--no-lock", action="store_true",
                        help="ignore FILE.lock (trained values); use the values in FILE")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="a .jsonl file, or a directory with train/val/test.jsonl "
                             "(default: the data/ folder next to FILE)")
    parser.add_argument("--split", default=None, metavar="NAME",
                        help="which split of a data directory (train, val, test)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="use only the first N rows")


def run_command(name: str, work: Coroutine[Any, Any, int]) -> int:
    """Run a command's async body; an expected failure is one line on stderr and its status."""
    try:
        return asyncio.run(work)
    except CliError as exc:
        print(f"adfc {name}: {exc.message}", file=sys.stderr)
        return exc.status


def load_dataset(workflow: Workflow, args: argparse.Namespace) -> DataSet:
    """The rows named by `--data`/`--split`/`--limit`, typed by the workflow's plan."""
    from adf.runtime.data import DataError, load_data

    try:
        return load_data(workflow.plan, data_path(args), split=args.split, limit=args.limit)
    except DataError as exc:
        raise CliError(str(exc), 2) from None


def data_path(args: argparse.Namespace) -> str:
    """`--data`, or the `data/` folder next to the workflow file when it is not given."""
    if args.data is not None:
        return str(args.data)
    default = os.path.join(os.path.dirname(os.path.abspath(args.file)), "data")
    if not os.path.isdir(default):
        raise CliError(f"no --data given and no data/ folder next to {args.file}", 2)
    return default


def load_workflow(path: str, *, use_lock: bool = True) -> Workflow:
    """Compile a `.adf` in memory (diagnostics to stderr) or load a `.plan`.

    A `.adf` with a lock file beside it (written by `adfc train`) runs with the
    trained values, unless `use_lock` is false; stale lock entries are named.
    """
    if not os.path.exists(path):
        raise CliError(f"cannot read {path}: no such file", 2)
    base_dir = os.path.dirname(os.path.abspath(path))
    if path.endswith(".plan"):
        from adf.plan.codec import PlanError, load_plan

        try:
            return Workflow(load_plan(path), base_dir, path)
        except PlanError as exc:
            raise CliError(str(exc), 2) from None
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import render_human

    result = compile_file(path)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors or result.plan is None:
        text = render_human(errors or list(result.diagnostics), {result.file: result.source})
        print(text, file=sys.stderr, end="" if text.endswith("\n") else "\n")
        count = len(errors)
        raise CliError(f"{path}: {count} error{'s' if count != 1 else ''}; nothing was run", 1)
    plan = result.plan
    if use_lock:
        from adf.optim.lockfile import LockError, apply_lock_verbose

        try:
            locked = apply_lock_verbose(plan, path)
        except LockError as exc:
            raise CliError(f"{exc} (use --no-lock to ignore it)", 2) from None
        for name, why in locked.stale:
            print(f"note: lock entry for {name!r} not applied: {why}", file=sys.stderr)
        if locked.applied:
            names = ", ".join(locked.applied)
            print(f"using trained values from {locked.path}: {names}", file=sys.stderr)
        plan = locked.plan
    return Workflow(plan, base_dir, path)


def bind_functions(workflow: Workflow) -> Any:
    from adf.runtime.bindings import BindError, bind

    try:
        return bind(workflow.plan, workflow.base_dir)
    except BindError as exc:
        raise CliError(str(exc), 1) from None


@attrs.frozen
class Opened:
    session: ModelSession
    plan: Plan  # the workflow's plan with the resolved models
    accounting: Accounting


@asynccontextmanager
async def open_session(workflow: Workflow, args: argparse.Namespace) -> AsyncIterator[Opened]:
    """Resolve the models (overrides applied), start the local server if needed."""
    from adf.llm.accounting import Accounting
    from adf.llm.cache import DEFAULT_PATH, ReplyCache
    from adf.llm.calltrace import JsonlTraceWriter, TraceSink
    from adf.llm.models import ModelConfigError, open_models, parse_overrides, resolve_models

    try:
        overrides = parse_overrides(args.model, args.api_base)
        resolved = resolve_models(workflow.plan.models, overrides)
    except ModelConfigError as exc:
        raise CliError(str(exc), 2) from None
    accounting = Accounting()
    sinks: list[TraceSink] = [accounting]
    writer = None
    if args.trace:
        try:
            writer = JsonlTraceWriter(args.trace)
        except OSError as exc:
            raise CliError(f"cannot write trace {args.trace}: {exc.strerror}", 2) from None
        sinks.append(writer)
    cache = ReplyCache(args.cache or DEFAULT_PATH, enabled=not args.no_cache)
    try:
        async with open_models(resolved, cache=cache, sinks=sinks, concurrency=args.concurrency,
                               timeout_s=args.timeout) as session:
            # the session's models know where the local server listens, once started
            plan = attrs.evolve(workflow.plan, models=tuple(
                session.models[m.name].effective_decl() for m in workflow.plan.models))
            yield Opened(session, plan, accounting)
    except Exception as exc:
        if _is_local_start_failure(exc):
            raise CliError(f"the local model could not start: {exc}", 1) from None
        raise
    finally:
        cache.close()
        if writer is not None:
            writer.close()


def _is_local_start_failure(exc: Exception) -> bool:
    return type(exc).__module__.startswith("adf.local")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
