"""Running forward passes past one machine (the optional `adf[ray]` extra).

`limits` (cluster-wide admission: calls in flight, requests per window,
budget) and `worker` (one shard of samples, as a worker runs it) import no
Ray and are tested without it; `shipping` checks and packs the workflow's
Python code for the workers; `ray_executor` is the Ray `Executor` and the
only module that imports `ray` (imported only for `--executor ray`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from adf.runtime.executor import ExecutorMissing

if TYPE_CHECKING:
    from adf.llm.calltrace import TraceSink
    from adf.llm.protocol import ModelClient
    from adf.plan.schema import Plan
    from adf.runtime.executor import Executor, ExecutorSpec


@contextmanager
def open_executor(
    spec: ExecutorSpec, plan: Plan, base_dir: str, client: ModelClient, *,
    cache_path: str | None, concurrency: int, timeout_s: float = 120.0,
    workers: int | None = None, rpm: int | None = None, sinks: Sequence[TraceSink] = (),
) -> Iterator[Executor | None]:
    """The executor `spec` names, opened for `client` and stopped after; None: in process.

    Raises `ExecutorMissing` without the extra, `ExecutorError` when it cannot start.
    """
    if spec.is_local:
        yield None
        return
    try:
        from adf.scale.ray_executor import RayExecutor, RaySettings
    except ImportError as exc:
        raise ExecutorMissing(
            f"--executor ray needs Ray ({exc}); install it with: pip install 'adf[ray]'"
        ) from None
    import os

    from adf.scale.limits import ClusterLimits
    from adf.scale.worker import ClientSettings

    settings = RaySettings(
        address=spec.address, workers=workers,
        local_cpus=workers if spec.address is None else None,
        limits=ClusterLimits(concurrency=concurrency, per_window=rpm),
        client=ClientSettings(None if cache_path is None else os.path.abspath(cache_path),
                              concurrency, timeout_s),
    )
    executor = RayExecutor.open(settings, plan, base_dir, client, sinks=sinks)
    try:
        yield executor
    finally:
        executor.close()
