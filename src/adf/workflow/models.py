"""Resolve a workflow's models and open them: overrides, cache, traces, local server.

Takes a plan and `RunOptions` (the `--model NAME=MODEL` and `--api-base
NAME=URL` overrides, the reply cache, concurrency, timeout, a trace file);
gives `resolve` (the models each declared name calls, after the command
line, then `ADF_MODEL_<NAME>`/`ADF_API_BASE_<NAME>`, then the source) and
`open_workflow`, an async context manager that opens the cache and the trace
file, starts adf's local server when a model needs it, and yields an
`Opened`: the model session, the plan whose models carry the resolved
settings, and the usage accounting of every call made through it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import attrs

from adf.records import replace
from adf.runtime.executor import ExecutorSpec
from adf.workflow.errors import FAILED, USAGE, WorkflowError

if TYPE_CHECKING:
    from adf.analysis.costhistory import History
    from adf.llm.accounting import Accounting
    from adf.llm.cache import ReplyCache
    from adf.llm.calltrace import TraceSink
    from adf.llm.models import ModelOverrides, ModelSession, ResolvedModel
    from adf.plan.schema import Plan


@attrs.frozen
class RunOptions:
    """How to call a workflow's models; the defaults are the CLI's."""

    models: tuple[str, ...] = ()  # NAME=LITELLM_MODEL
    api_bases: tuple[str, ...] = ()  # NAME=URL (an empty URL clears a declared one)
    cache: str | None = None  # reply cache file; None: .adf/cache.sqlite
    use_cache: bool = True
    concurrency: int = 8  # samples and model calls in flight at once
    timeout_s: float = 120.0  # per model call
    trace: str | None = None  # append one JSON line per model call here
    retries: int | None = None  # retries of a failed model call; None: the client's default
    executor: ExecutorSpec = attrs.field(factory=ExecutorSpec)  # where forward passes run
    workers: int | None = None  # with the Ray executor: shards in flight at once
    rpm: int | None = None  # with the Ray executor: requests per minute per endpoint


@attrs.frozen
class Resolved:
    overrides: ModelOverrides
    models: Mapping[str, ResolvedModel]


@attrs.frozen
class Opened:
    session: ModelSession
    plan: Plan  # the workflow's plan with the resolved models
    accounting: Accounting


def resolve(plan: Plan, options: RunOptions) -> Resolved:
    """The model each declared name calls, overrides applied."""
    from adf.llm.models import ModelConfigError, parse_overrides, resolve_models

    try:
        overrides = parse_overrides(options.models, options.api_bases)
        return Resolved(overrides, resolve_models(plan.models, overrides))
    except ModelConfigError as exc:
        raise WorkflowError(str(exc), USAGE) from None


def priced_plan(plan: Plan, resolved: Resolved) -> Plan:
    """`plan` with each declared model string replaced by the one its calls go to
    (`--model`, `ADF_MODEL_<NAME>`), so a forecast prices the model that will answer."""
    return replace(plan, models=tuple(
        replace(m, model=resolved.models[m.name].model)
        if m.name in resolved.models and not resolved.models[m.name].local else m
        for m in plan.models))


@asynccontextmanager
async def open_workflow(plan: Plan, options: RunOptions, *,
                        sinks: Iterable[TraceSink] = ()) -> AsyncIterator[Opened]:
    """Resolve the models, open cache and trace file, start the local server if needed.

    `sinks` receive every call's trace besides the accounting and the trace file.
    """
    from adf.llm.accounting import Accounting
    from adf.llm.cache import DEFAULT_PATH, ReplyCache
    from adf.llm.calltrace import JsonlTraceWriter
    from adf.llm.client import LiteLLMClient, RetryPolicy
    from adf.llm.models import open_models

    resolved = resolve(plan, options)
    accounting = Accounting()
    receivers: list[TraceSink] = [accounting, *sinks]
    writer = None
    if options.trace:
        try:
            writer = JsonlTraceWriter(options.trace)
        except OSError as exc:
            raise WorkflowError(f"cannot write trace {options.trace}: {exc.strerror}",
                                USAGE) from None
        receivers.append(writer)
    cache = ReplyCache(options.cache or DEFAULT_PATH, enabled=options.use_cache)
    try:
        client = LiteLLMClient(cache=cache, sinks=receivers, concurrency=options.concurrency,
                               timeout_s=options.timeout_s,
                               retry=None if options.retries is None
                               else RetryPolicy(max_retries=options.retries))
        async with open_models(resolved.models, client) as session:
            # the session's models know where the local server listens, once started
            effective = replace(plan, models=tuple(
                session.models[m.name].effective_decl() for m in plan.models))
            yield Opened(session, effective, accounting)
    except Exception as exc:
        if _is_local_start_failure(exc):
            raise WorkflowError(f"the local model could not start: {exc}", FAILED) from None
        raise
    finally:
        _keep_history(cache, accounting)
        cache.close()
        for notice in cache.notices:  # a damaged, full or read-only cache is never silent
            print(f"adfc: warning: {notice}", file=sys.stderr)
        if writer is not None:
            writer.close()
            if writer.failure is not None:  # a full disk under the trace is never silent
                print(f"adfc: warning: {writer.failure}", file=sys.stderr)


def hold_local_server(plan: Plan, options: RunOptions) -> AbstractContextManager[Any] | None:
    """Start (or join) adf's local server for `plan`'s models and keep it running.

    Gives the entered hold, to be exited when done, or None when no model is
    local. While it is held, every `open_workflow` of the same models reuses
    the running server instead of starting one per call.
    """
    from adf.llm.catalogue import DEFAULT_LOCAL_CONTEXT
    from adf.llm.models import default_local_server

    needing = [m for m in resolve(plan, options).models.values() if m.needs_local_server]
    if not needing:
        return None
    hold = default_local_server(max((m.context or DEFAULT_LOCAL_CONTEXT) for m in needing))
    try:
        hold.__enter__()
    except Exception as exc:
        if _is_local_start_failure(exc):
            raise WorkflowError(f"the local model could not start: {exc}", FAILED) from None
        raise
    return hold


def _is_local_start_failure(exc: Exception) -> bool:
    return type(exc).__module__.startswith("adf.local")


def _keep_history(cache: ReplyCache, accounting: Accounting) -> None:
    """Add this run's tokens per (model, node, purpose) to the cache's history."""
    from adf.llm.cache import CacheError

    answered = {key: (u.calls - u.failures, u.prompt_tokens, u.completion_tokens)
                for key, u in accounting.by_call.items()}
    try:
        cache.add_history(answered)
    except CacheError as exc:
        cache.give_up(exc)


def token_history(plan: Plan, options: RunOptions) -> History:
    """What the reply cache measured before for `plan`'s models, to size a forecast.

    Empty without a cache (`use_cache=False`, no cache file yet, or one that cannot be read).
    """
    from pathlib import Path

    from adf.analysis.costhistory import History
    from adf.llm.cache import DEFAULT_PATH, CacheError, ReplyCache

    path = Path(options.cache or DEFAULT_PATH)
    if not options.use_cache or not path.is_file():
        return History()
    models = {name: model.model for name, model in resolve(plan, options).models.items()}
    cache = ReplyCache(path)
    try:
        task = task_model(plan, models)
        rates = cache.rates(task) if task is not None else {}
        return History(cache.history(models.values()), models, rates)
    except CacheError:
        return History()  # the run itself names an unreadable cache
    finally:
        cache.close()


def task_model(plan: Plan, models: Mapping[str, str]) -> str | None:
    """The model string of the plan's first llm node: whose history holds the run's rates."""
    first = next((n.llm.model for n in plan.nodes if n.llm is not None), None)
    return None if first is None else models.get(first, first)
