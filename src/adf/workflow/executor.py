"""Open the executor a run asked for, around an opened workflow.

Takes an `Opened` workflow, its `RunOptions` (`executor`, `workers`, `rpm`,
with the cache, concurrency and timeout they share with the models) and the
folder of its source; gives the executor that forward passes run on (None:
the default, in this process) as a context manager that stops what it
started. `--workers`/`--rpm` without Ray, a missing `adf[ray]` extra
(status 2) and a cluster that cannot run the workflow (status 1) become
`WorkflowError`s before any model call. See docs/scale.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from adf.workflow.errors import FAILED, USAGE, WorkflowError
from adf.workflow.models import Opened, RunOptions

if TYPE_CHECKING:
    from adf.runtime.executor import Executor


def check_executor(options: RunOptions) -> None:
    """Raise `WorkflowError` when the executor options do not fit together."""
    if options.executor.is_local:
        for flag, value in (("workers", options.workers), ("rpm", options.rpm)):
            if value is not None:
                raise WorkflowError(f"--{flag} needs --executor ray", USAGE)


@contextmanager
def open_run_executor(opened: Opened, options: RunOptions, base_dir: str) -> Iterator[Executor | None]:
    from adf.llm.cache import DEFAULT_PATH
    from adf.runtime.executor import ExecutorError, ExecutorMissing
    from adf.scale import open_executor

    check_executor(options)
    client = opened.session.client
    try:
        with open_executor(options.executor, opened.plan, base_dir, client,
                           cache_path=str(options.cache or DEFAULT_PATH) if options.use_cache
                           else None,
                           concurrency=options.concurrency, timeout_s=options.timeout_s,
                           workers=options.workers, rpm=options.rpm,
                           sinks=client.sinks) as executor:
            yield executor
    except ExecutorError as exc:
        raise WorkflowError(str(exc), USAGE if isinstance(exc, ExecutorMissing) else FAILED
                            ) from None
