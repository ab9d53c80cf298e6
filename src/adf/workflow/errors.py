"""The one failure type of the workflow layer.

Gives `WorkflowError`: an expected failure (bad options, unreadable input, a
program with errors, a model that cannot be resolved or started) as a
one-line message and a status (1 failed work or diagnostics, 2 usage or
I/O). `details` holds the rendered diagnostics of a program that does not
compile. Every entry point (the CLI, the Python API, the server) turns it
into its own form: a line on stderr with an exit status, an exception, an
HTTP error.
"""

from __future__ import annotations

FAILED = 1  # the work failed or the program has errors
USAGE = 2  # bad options or unreadable input


class WorkflowError(Exception):
    def __init__(self, message: str, status: int = USAGE, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details
