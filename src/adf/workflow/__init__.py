"""The one workflow layer: what every entry point does before and around running a workflow.

The CLI commands, the trainer's set-up, the Python API (`adf.load`) and the
server (`adfc serve`) all go through here: compile a `.adf` or load a plan
(`load_workflow`), apply its lock file, load its data (`load_dataset`),
import its `py` functions (`bind_functions`), resolve its models with the
run-time overrides and open the reply cache, trace file and local server
(`open_workflow`), and set up, run and conclude training
(`adf.workflow.training`). Failures are `WorkflowError`s; the only output
is a warning on stderr when the reply cache could not be used. This layer sits above the compiler, runtime and optimizer and below
every entry point; importing it is cheap (heavy layers load inside the
functions that need them).
"""

from __future__ import annotations

from adf.workflow.errors import FAILED, USAGE, WorkflowError
from adf.workflow.load import (
    Loaded,
    ProgramErrors,
    bind_functions,
    compile_program,
    compile_text,
    data_path,
    load_dataset,
    load_workflow,
)
from adf.workflow.models import Opened, RunOptions, open_workflow, resolve

__all__ = [
    "FAILED",
    "USAGE",
    "Loaded",
    "Opened",
    "ProgramErrors",
    "RunOptions",
    "WorkflowError",
    "bind_functions",
    "compile_program",
    "compile_text",
    "data_path",
    "load_dataset",
    "load_workflow",
    "open_workflow",
    "resolve",
]
