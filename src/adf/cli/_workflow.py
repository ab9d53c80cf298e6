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
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from adf.plan.schema import Plan
    from adf.runtime.accounting import Accounting
    from adf.runtime.models import ModelSession


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
    parser.add_argument("--concurrency", type=_positive, default=8, metavar="N",
                        help="samples and model calls in flight at once (default 8)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="seconds before one model call times out (default 120)")
    parser.add_argument("--trace", default=None, metavar="FILE.jsonl",
                        help="append one JSON line per model call to this file")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="a .jsonl file, or a directory with train/val/test.jsonl")
    parser.add_argument("--split", default=None, metavar="NAME",
                        help="which split of a data directory (train, val, test)")
    parser.add_argument("--limit", type=_positive, default=None, metavar="N",
                        help="use only the first N rows")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return value


def load_workflow(path: str) -> Workflow:
    """Compile a `.adf` in memory (diagnostics to stderr) or load a `.plan`."""
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
    return Workflow(result.plan, base_dir, path)


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
    from adf.runtime.accounting import Accounting
    from adf.runtime.cache import DEFAULT_PATH, ReplyCache
    from adf.runtime.calltrace import JsonlTraceWriter, TraceSink
    from adf.runtime.models import ModelConfigError, open_models, parse_overrides, resolve_models

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
