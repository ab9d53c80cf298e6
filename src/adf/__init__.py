"""adf: a typed language and compiler for training LLM workflows.

The public Python API (docs/python.md)::

    import adf

    wf = adf.load("examples/qa/qa.adf")        # compiled, lock file applied
    result = wf(question="What is 2 + 3?")     # inputs checked against the declared types
    print(result.output, result.usage, result.cost_usd)

Names are imported lazily so that `import adf` stays cheap: the compiler
loads with `adf.load`, the runtime and litellm with the first model call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from adf.api.errors import CallError
    from adf.api.flow import Session, Workflow
    from adf.api.result import CallResult, Evaluation, Trained
    from adf.workflow.errors import WorkflowError
    from adf.workflow.signature import InputError

_EXPORTS = {
    "Workflow": "adf.api.flow",
    "Session": "adf.api.flow",
    "CallResult": "adf.api.result",
    "Evaluation": "adf.api.result",
    "Trained": "adf.api.result",
    "CallError": "adf.api.errors",
    "InputError": "adf.workflow.signature",
    "WorkflowError": "adf.workflow.errors",
}

__all__ = ["CallError", "CallResult", "Evaluation", "InputError", "Session", "Trained",
           "Workflow", "WorkflowError", "__version__", "load"]


def load(path: str, **options: Any) -> Workflow:
    """The workflow at `path` (a `.adf` or `.plan`); options as `Workflow.load`."""
    from adf.api.flow import Workflow

    return Workflow.load(path, **options)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adf' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
