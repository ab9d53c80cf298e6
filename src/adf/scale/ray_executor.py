"""The Ray executor: forward passes over many samples, run in Ray workers.

Takes `RaySettings` (a cluster address or none for a local instance, how many
shards run at once, the cluster-wide limits, how workers build their model
client), the plan, the folder of its source and the driver's model client;
gives `RayExecutor`, an `Executor` (see `adf.runtime.executor`).

What runs where. The driver (the `adfc` process) splits a batch into shards
of consecutive samples and keeps `workers` shards in flight as Ray tasks.
The compiled plan travels as its msgpack bytes (put once in Ray's object
store); a worker decodes it, binds its `py` functions (shipped with the
runtime environment, see `adf.scale.shipping`) and forwards its shard with
the in-process executor. Every model call a worker makes asks one governor
actor (`adf.scale.limits.GateService`): provider calls in flight and
requests per window are capped per endpoint for the whole cluster, and the
driver's budget (`--max-calls/--max-tokens/--max-usd`) is an allowance of
provider requests, tokens and dollars the governor never lets the workers
exceed together (each request, retries included, is admitted). Workers share the SQLite reply cache
by its absolute path (one file every worker reaches: the same machine or a
shared file system), so a warm re-run makes no model call.

Back on the driver, shard results are put in sample order, and each call's
trace is replayed into the driver's sinks (accounting, `--trace`) and
counted in its budget meter, so a report is the one the default executor
gives.
A shard whose worker dies is run again by Ray elsewhere (`max_retries`);
only the attempt that finished is counted, its repeated calls come from the
cache. Cancelling the evaluation (Ctrl-C) cancels every shard in flight.
Backward and optimizer calls stay on the driver.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import ray
from ray.exceptions import RayError, RayTaskError

import adf
from adf.llm.cache import CacheError, ReplyCache
from adf.llm.calltrace import TraceSink
from adf.llm.protocol import ModelClient
from adf.llm.usage import Usage
from adf.optim.budget import BudgetedClient, Meter
from adf.plan.codec import decode_plan, encode_plan
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Plan
from adf.runtime.bindings import BindError, Bindings, bind
from adf.runtime.data import Sample
from adf.runtime.engine import EvalResult, ModelUnavailable
from adf.runtime.executor import EvalOptions, ExecutorError, LocalExecutor
from adf.runtime.trace import SampleResult
from adf.scale.limits import Allowance, ClusterLimits, GateService, Lease, Refusal
from adf.scale.shipping import CodeShipment, ShippingError, plan_shipment
from adf.scale.worker import ClientSettings, ShardJob, ShardOutcome, run_shard

MAX_SHARD = 500  # samples per task at most: a lost worker costs at most this much rework


@attrs.frozen
class RaySettings:
    address: str | None = None  # None: start a local Ray instance
    workers: int | None = None  # shards in flight at once (default: the cluster's CPUs)
    local_cpus: int | None = None  # CPUs of a local instance (default: Ray's own count)
    limits: ClusterLimits = attrs.field(factory=ClusterLimits)
    client: ClientSettings = attrs.field(factory=lambda: ClientSettings(None))
    shard_size: int | None = None  # default: about four shards per worker, at most MAX_SHARD
    max_retries: int = 3  # a shard whose worker dies is run again this often


class RayExecutor:
    """Runs `evaluate` batches on Ray workers; see the module docstring."""

    def __init__(self, settings: RaySettings, driver_client: ModelClient,
                 shipment: CodeShipment, base_dir: str, *, started: bool,
                 sinks: Sequence[TraceSink]) -> None:
        self.settings = settings
        self.driver_client = driver_client
        self.shipment = shipment
        self.base_dir = base_dir
        self.started = started
        self.sinks = tuple(sinks)
        # Ray ships a folder only with the job (ray.init): on a Ray this process had already
        # joined, the workers import from the source folder itself (one machine)
        self.shipped = started and shipment.working_dir is not None
        self.workers = settings.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.governor: Any = ray.remote(num_cpus=0, max_concurrency=100_000)(
            GateService).remote(settings.limits)
        self._plans: dict[int, tuple[Plan, Any]] = {}
        self._running = asyncio.Lock()

    @staticmethod
    def open(settings: RaySettings, plan: Plan, base_dir: str, driver_client: ModelClient,
             *, sinks: Sequence[TraceSink] = ()) -> RayExecutor:
        """Start or join Ray, ship the code, check every node can run the plan."""
        try:
            shipment = plan_shipment(plan, base_dir)
        except ShippingError as exc:
            raise ExecutorError(str(exc)) from None
        started = not ray.is_initialized()
        if started:
            try:
                # "local": a new instance, never one found on this machine by chance
                ray.init(address=settings.address or "local", num_cpus=settings.local_cpus,
                         runtime_env=shipment.runtime_env() or None, include_dashboard=False,
                         logging_level="ERROR", log_to_driver=False)
            except (RayError, ConnectionError, ValueError, RuntimeError) as exc:
                where = settings.address or "a local instance"
                raise ExecutorError(f"cannot start Ray ({where}): {exc}") from None
        _notices_to_stderr()
        executor = RayExecutor(settings, driver_client, shipment, base_dir, started=started,
                               sinks=sinks)
        try:
            executor.check(plan)
        except BaseException:
            executor.close()
            raise
        return executor

    def check(self, plan: Plan) -> None:
        """Every node with CPUs imports adf at this version, binds the plan and opens the cache."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        plan_ref = self._plan_ref(plan)
        nodes = [n["NodeID"] for n in ray.nodes()
                 if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        probes = [
            _probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
            .remote(plan_ref, self._bind_dir(), self.settings.client.cache_path, adf.__version__)
            for node in nodes
        ]
        for node, problem in zip(nodes, ray.get(probes), strict=True):
            if problem is not None:
                raise ExecutorError(f"worker node {node[:8]} cannot run this workflow: {problem}")

    def close(self) -> None:
        if not ray.is_initialized():
            return
        ray.kill(self.governor)
        if self.started:
            ray.shutdown()

    async def evaluate(
        self, plan: Plan, samples: Sequence[Sample], client: ModelClient, options: EvalOptions
    ) -> EvalResult:
        meter = client.meter if isinstance(client, BudgetedClient) else None
        driver = client.inner if isinstance(client, BudgetedClient) else client
        if driver is not self.driver_client or not samples:
            # another client (a relabelled teacher) or nothing to do: run it here
            return await LocalExecutor().evaluate(plan, samples, client, options)
        async with self._running:
            started = time.perf_counter()
            values = tuple((options.params or {}).items())
            jobs = self._jobs(samples, values, options.abort_after, options.structured)
            await _await(self.governor.open.remote(
                _allowance(meter) if meter is not None else Allowance()))
            outcomes = await self._run(self._plan_ref(plan), jobs, options.on_sample)
        for outcome in outcomes:
            for trace in outcome.traces:
                for sink in self.sinks:
                    sink(trace)
            if meter is not None:
                charge(meter, outcome)
        results = tuple(r for o in outcomes for r in o.results)
        return EvalResult(results, outcomes[0].params, time.perf_counter() - started)

    # --- internals ------------------------------------------------------------------

    def _jobs(self, samples: Sequence[Sample], values: tuple[tuple[str, ParamValue], ...],
              abort_after: int | None, structured: bool) -> list[ShardJob]:
        size = self.settings.shard_size or min(
            MAX_SHARD, max(1, -(-len(samples) // (self.workers * 4))))
        return [ShardJob(i, tuple(samples[start:start + size]), values,
                         self.settings.client, abort_after, structured)
                for i, start in enumerate(range(0, len(samples), size))]

    def _plan_ref(self, plan: Plan) -> Any:
        known = self._plans.get(id(plan))
        if known is None or known[0] is not plan:
            known = (plan, ray.put(encode_plan(plan)))
            self._plans[id(plan)] = known
        return known[1]

    def _bind_dir(self) -> str | None:
        """Where workers import `py` modules from: their working directory when shipped."""
        return None if self.shipped else self.base_dir

    async def _run(self, plan_ref: Any, jobs: list[ShardJob],
                   on_sample: Callable[[SampleResult], None] | None) -> list[ShardOutcome]:
        queue = deque(jobs)
        running: dict[asyncio.Future[Any], Any] = {}
        outcomes: dict[int, ShardOutcome] = {}
        task = _shard.options(max_retries=self.settings.max_retries)
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    ref = task.remote(plan_ref, queue.popleft(), self._bind_dir(), self.governor)
                    running[asyncio.wrap_future(ref.future())] = ref
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    del running[future]
                    outcome = _outcome(future)
                    outcomes[outcome.index] = outcome
                    if on_sample is not None:
                        for result in outcome.results:
                            on_sample(result)
        finally:
            for ref in running.values():
                ray.cancel(ref, force=True)
        return [outcomes[i] for i in range(len(jobs))]


def charge(meter: Meter, outcome: ShardOutcome) -> None:
    """Count a shard's calls in the driver's meter as `BudgetedClient` would have."""
    for trace in outcome.traces:
        meter.absorb(trace.purpose, Usage.of_trace(trace))
    meter.refused += outcome.refused


def _allowance(meter: Meter) -> Allowance:
    """What the meter lets the phase now running spend (its reservation included)."""
    limits, total = meter.limits, meter.total()
    return Allowance(
        None if limits.max_calls is None else limits.max_calls - total.requests - meter.held,
        None if limits.max_tokens is None else limits.max_tokens - total.tokens,
        None if limits.max_usd is None else limits.max_usd - (total.cost_usd or 0.0),
    )


def _notices_to_stderr() -> None:
    """Ray prints cluster notices (a worker died...) on stdout, which is where adf prints
    reports (`--json`): send them to stderr. Ray's private hook; left alone if it moved."""
    try:
        from ray._private import worker as ray_worker
    except ImportError:
        return
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "adf_stderr", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr.adf_stderr = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = to_stderr


def _outcome(future: asyncio.Future[Any]) -> ShardOutcome:
    try:
        outcome: ShardOutcome = future.result()
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, ModelUnavailable):
            raise ModelUnavailable(cause.reason) from None
        raise ExecutorError(f"a shard failed on a worker: {cause or exc}") from None
    except RayError as exc:
        raise ExecutorError(f"a shard was lost: {type(exc).__name__}: {exc}") from None
    return outcome


async def _await(ref: Any) -> Any:
    return await asyncio.wrap_future(ref.future())


# --- what runs on the workers ------------------------------------------------------------

_PREPARED: dict[str, tuple[Plan, Bindings]] = {}


def _prepared(plan_bytes: bytes, bind_dir: str | None) -> tuple[Plan, Bindings]:
    key = hashlib.sha256(plan_bytes).hexdigest() + (bind_dir or "")
    if key not in _PREPARED:
        plan = decode_plan(plan_bytes)
        _PREPARED[key] = (plan, bind(plan, bind_dir or os.getcwd()))
    return _PREPARED[key]


class _ActorAdmission:
    """The governor actor as an `Admission`."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def acquire(self, key: str) -> Lease:
        got: Lease = await _await(self.handle.acquire.remote(key))
        return got

    async def request(self, key: str) -> Refusal | None:
        got: Refusal | None = await _await(self.handle.request.remote(key))
        return got

    async def release(self, lease: Lease | None, tokens: int, usd: float) -> None:
        await _await(self.handle.release.remote(lease, tokens, usd))


def _shard_body(plan_bytes: bytes, job: ShardJob, bind_dir: str | None, governor: Any) -> ShardOutcome:
    plan, bindings = _prepared(plan_bytes, bind_dir)
    return asyncio.run(run_shard(plan, bindings, job, _ActorAdmission(governor)))


def _probe_body(plan_bytes: bytes, bind_dir: str | None, cache_path: str | None,
           version: str) -> str | None:
    if adf.__version__ != version:
        return f"adf {adf.__version__} is installed there, the driver runs {version}"
    try:
        _prepared(plan_bytes, bind_dir)
    except BindError as exc:
        return str(exc)
    if cache_path is not None:
        cache = ReplyCache(cache_path)
        try:
            cache.get("0" * 64)
        except CacheError as exc:
            return str(exc)
        finally:
            cache.close()
    return None


_shard = ray.remote(num_cpus=1)(_shard_body)
_probe = ray.remote(num_cpus=0)(_probe_body)
