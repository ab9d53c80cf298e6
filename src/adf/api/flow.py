"""`adf.Workflow`: a compiled, trained workflow called from Python.

Takes a `.adf` (compiled, its lock file applied) or a `.plan`, and how to
call its models (overrides, cache, concurrency, timeouts); gives a callable
object: `wf(question="...")` runs one call and returns a `CallResult`
(`await wf.acall(...)` inside an event loop), `wf.batch(rows)` runs many
with a concurrency cap and a progress callback, `wf.session()` keeps the
models, cache and local server open across many calls (what `adfc serve`
uses), and `wf.evaluate(...)` / `wf.train(...)` do what `adfc eval` and
`adfc train` do, returning their reports. Inputs are checked against the
declared types before any model is called (`InputError` names the field).
Everything goes through `adf.workflow`; litellm loads on the first call.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from adf.workflow import Loaded, RunOptions, WorkflowError, load_workflow
from adf.workflow.signature import InputError, Problem, Signature, check_inputs, signature

if TYPE_CHECKING:
    from adf.api.result import CallResult, Evaluation, Trained
    from adf.llm.calltrace import CallTrace
    from adf.llm.usage import Usage
    from adf.plan.schema import Plan
    from adf.runtime.bindings import Bindings
    from adf.workflow import Opened
    from adf.workflow.training import EventSink

T = TypeVar("T")
Progress = Callable[[int, int], None]  # (done, total)


class Workflow:
    """A loaded workflow; see the module docstring. Build it with `adf.load(path)`."""

    def __init__(self, loaded: Loaded, options: RunOptions) -> None:
        self._loaded = loaded
        self.options = options
        self._bindings: Bindings | None = None
        self._local: AbstractContextManager[Any] | None = None  # the local server, kept
        self._local_checked = False

    @classmethod
    def load(
        cls,
        path: str,
        *,
        use_lock: bool = True,
        models: Mapping[str, str] | None = None,
        api_bases: Mapping[str, str] | None = None,
        cache: bool | str = True,
        concurrency: int = 8,
        timeout: float = 120.0,
        retries: int | None = None,
        trace: str | None = None,
    ) -> Workflow:
        """Compile (or load) `path`. `models={"name": "litellm/model"}` and `api_bases`
        override declared models as `--model`/`--api-base` do; `cache` is True (the default
        file), False (off) or a path."""
        options = RunOptions(
            models=_pairs(models), api_bases=_pairs(api_bases),
            cache=cache if isinstance(cache, str) else None, use_cache=cache is not False,
            concurrency=concurrency, timeout_s=timeout, retries=retries, trace=trace,
        )
        return cls(load_workflow(path, use_lock=use_lock), options)

    def configure(
        self,
        *,
        models: Mapping[str, str] | None = None,
        api_bases: Mapping[str, str] | None = None,
        cache: bool | str | None = None,
        concurrency: int | None = None,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Workflow:
        """A copy calling its models differently (given settings replace the current ones)."""
        changes: dict[str, Any] = {}
        if models is not None:
            changes["models"] = _pairs(models)
        if api_bases is not None:
            changes["api_bases"] = _pairs(api_bases)
        if cache is not None:
            changes["cache"] = cache if isinstance(cache, str) else None
            changes["use_cache"] = cache is not False
        if concurrency is not None:
            changes["concurrency"] = concurrency
        if timeout is not None:
            changes["timeout_s"] = timeout
        if retries is not None:
            changes["retries"] = retries
        return Workflow(self._loaded, attrs.evolve(self.options, **changes))

    def close(self) -> None:
        """Let the local model's server stop (when no other workflow holds it)."""
        local, self._local, self._local_checked = self._local, None, False
        if local is not None:
            local.__exit__(None, None, None)

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what it is ---------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._loaded.file

    @property
    def plan(self) -> Plan:
        """The plan that runs (the lock file's values applied)."""
        return self._loaded.plan

    @property
    def plan_hash(self) -> str:
        from adf.optim.lockfile import plan_hash

        return plan_hash(self._loaded.plan)

    @property
    def signature(self) -> Signature:
        """The declared inputs and the outputs, with their types."""
        return signature(self._loaded.plan)

    @property
    def trained(self) -> tuple[str, ...]:
        """The parameters whose values come from the lock file."""
        return self._loaded.lock_applied

    def params(self) -> dict[str, Any]:
        """Each parameter's value as served: a prompt's text, or a demos list of dicts."""
        from adf.plan.paramvalue import param_value, value_to_json

        return {p.name: value_to_json(param_value(p)) for p in self._loaded.plan.params}

    def __repr__(self) -> str:
        inputs = ", ".join(f"{n}: {t}" for n, t in self.signature.inputs)
        outputs = ", ".join(f"{n}: {t}" for n, t in self.signature.outputs)
        return f"<adf.Workflow {self.path} ({inputs}) -> ({outputs})>"

    # --- calling it ---------------------------------------------------------------

    def __call__(self, **inputs: Any) -> CallResult:
        """Run one call; raise `CallError` when it produces no outputs."""
        return _sync(self.acall(**inputs), "acall")

    async def acall(self, **inputs: Any) -> CallResult:
        """`await wf.acall(...)`: the same as `wf(...)` inside an event loop."""
        async with self.session() as session:
            result = await session.call(inputs)
        return result.raise_for_error()

    def batch(self, rows: Iterable[Mapping[str, Any]], *, concurrency: int | None = None,
              on_progress: Progress | None = None) -> list[CallResult]:
        """Run one call per row, at most `concurrency` at once, results in row order.

        A row whose call failed carries `error` (nothing is raised for it); a row
        whose inputs do not fit raises `InputError` naming `[index].field` before
        any call is made.
        """
        return _sync(self.abatch(rows, concurrency=concurrency, on_progress=on_progress),
                     "abatch")

    async def abatch(self, rows: Iterable[Mapping[str, Any]], *, concurrency: int | None = None,
                     on_progress: Progress | None = None) -> list[CallResult]:
        async with self.session() as session:
            return await session.batch(rows, concurrency=concurrency, on_progress=on_progress)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """Models, cache and local server held open for many calls."""
        from adf.workflow import bind_functions, open_workflow
        from adf.workflow.models import hold_local_server

        if self._bindings is None:
            self._bindings = bind_functions(self._loaded)
        if not self._local_checked:  # keep a local server running across calls
            self._local = await asyncio.to_thread(hold_local_server, self._loaded.plan,
                                                  self.options)
            self._local_checked = True
        usage = _UsageBySample()
        async with open_workflow(self._loaded.plan, self.options, sinks=[usage]) as opened:
            yield Session(opened, self._bindings, self.options.concurrency, usage)

    # --- evaluating and training ----------------------------------------------------

    def evaluate(self, data: str | None = None, *, split: str | None = None,
                 limit: int | None = None) -> Evaluation:
        """Score the workflow on a data set, as `adfc eval` does."""
        return _sync(self.aevaluate(data, split=split, limit=limit), "aevaluate")

    async def aevaluate(self, data: str | None = None, *, split: str | None = None,
                        limit: int | None = None) -> Evaluation:
        from adf.api.result import Evaluation
        from adf.runtime.engine import ModelUnavailable, evaluate
        from adf.workflow import load_dataset
        from adf.workflow.executor import open_run_executor

        dataset = load_dataset(self._loaded, data, split=split, limit=limit)
        async with self.session() as session:
            opened = session.opened
            try:
                with open_run_executor(opened, self.options, self._loaded.base_dir) as executor:
                    result = await evaluate(opened.plan, dataset.samples,
                                            opened.session.client, bindings=session.bindings,
                                            concurrency=self.options.concurrency,
                                            executor=executor)
            except ModelUnavailable as exc:
                raise WorkflowError(f"model unavailable: {exc.reason}", 1) from None
            tally = opened.accounting.total
        return Evaluation(attrs.evolve(result, bad_rows=dataset.bad_rows), tally, dataset.path)

    def train(self, *, write: bool = False, on_event: EventSink | None = None,
              **options: Any) -> Trained:
        """Train the parameters as `adfc train` does; options are `TrainOptions.of` keywords
        (steps, batch_size, data, max_calls, ...). The lock file is written next to
        the source when a value changed; load the workflow again to use it."""
        from adf.api.result import Trained
        from adf.workflow.training import (
            TrainingRun,
            TrainOptions,
            hold_run,
            prepare_training,
            run_folder,
            save_trained,
        )

        if self.path.endswith(".plan"):
            raise WorkflowError("training needs the .adf source, not a compiled plan", 2)
        try:
            train_options = TrainOptions.of(**options)
        except TypeError as exc:
            raise WorkflowError(f"unknown training option: {exc}", 2) from None
        prepared = prepare_training(self.path, train_options, self.options)
        run_dir = run_folder(prepared)
        with hold_run(prepared, run_dir) as lock_base:
            outcome = _sync(TrainingRun(prepared, run_dir, on_event).run(), "train")
            done = outcome.state.phase == "done"
            saved = save_trained(prepared, outcome, lock_base, write=write) if done else None
        return Trained(
            outcome.report, run_dir, str(outcome.report.get("status", "")),
            saved.lock_file if saved else None, saved.changed if saved else (),
            saved.written if saved else (), outcome.stopped_by,
        )


class Session:
    """An open workflow: calls share one model client, cache and local server."""

    def __init__(self, opened: Opened, bindings: Bindings, concurrency: int,
                 usage: _UsageBySample) -> None:
        self.opened = opened
        self.bindings = bindings
        self.concurrency = concurrency
        self._usage = usage
        self._count = itertools.count(1)

    async def warm(self) -> None:
        """Load the model-call library now, in a worker thread, not on the first call."""
        await asyncio.to_thread(self.opened.session.client.warm)

    async def call(self, inputs: Mapping[str, Any], *, sample_id: str = "call") -> CallResult:
        """Run one call; a failed call is a `CallResult` whose `error` is set."""
        return await self._run(check_inputs(self.opened.plan, inputs), sample_id)

    @property
    def usage(self) -> Usage:
        """Every model call made through this session so far."""
        total: Usage = self.opened.accounting.total
        return total

    async def batch(self, rows: Iterable[Mapping[str, Any]], *, concurrency: int | None = None,
                    on_progress: Progress | None = None) -> list[CallResult]:
        checked = _check_rows(self.opened.plan, list(rows))
        gate = asyncio.Semaphore(max(1, concurrency or self.concurrency))
        done = 0

        async def one(index: int, row: dict[str, Any]) -> CallResult:
            nonlocal done
            async with gate:
                result = await self._run(row, f"row {index}")
            done += 1
            if on_progress is not None:
                on_progress(done, len(checked))
            return result

        return list(await asyncio.gather(*(one(i, row) for i, row in enumerate(checked))))

    async def _run(self, row: dict[str, Any], sample_id: str) -> CallResult:
        from adf.api.errors import CallError, code_of
        from adf.api.result import CallResult
        from adf.runtime.engine import run_one

        key = f"{sample_id} #{next(self._count)}"  # the usage sink tells calls apart by it
        try:
            sample = await run_one(self.opened.plan, row, self.opened.session.client,
                                   bindings=self.bindings, sample_id=key)
        finally:
            usage = self._usage.take(key)
        error = sample.error
        result = CallResult(dict(sample.outputs), usage, sample)
        if error is None:
            return result
        failure = CallError(code_of(error.kind, error.message), error.message, error.node)
        result = attrs.evolve(result, error=failure)
        failure.result = result
        return result


class _UsageBySample:
    """A trace sink that adds up each call's model usage by its sample id."""

    def __init__(self) -> None:
        self._by_sample: dict[str, Usage] = {}

    def __call__(self, record: CallTrace) -> None:
        from adf.llm.usage import Usage

        self._by_sample[record.sample] = (self._by_sample.get(record.sample, Usage())
                                          + Usage.of_trace(record))

    def take(self, sample: str) -> Usage:
        from adf.llm.usage import Usage

        return self._by_sample.pop(sample, Usage())


def _check_rows(plan: Plan, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        try:
            checked.append(check_inputs(plan, row))
        except InputError as exc:
            problems.extend(Problem((index, *p.path), p.message) for p in exc.problems)
    if problems:
        raise InputError(tuple(problems))
    return checked


def _pairs(mapping: Mapping[str, str] | None) -> tuple[str, ...]:
    return tuple(f"{name}={value}" for name, value in (mapping or {}).items())


def _sync(work: Awaitable[T], name: str) -> T:
    """Run `work` to completion from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(work))
    if asyncio.iscoroutine(work):
        work.close()
    raise RuntimeError(f"an event loop is running here: use `await workflow.{name}(...)`")


async def _await(work: Awaitable[T]) -> T:
    return await work
