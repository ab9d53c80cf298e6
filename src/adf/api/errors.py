"""The stable codes of a failed call, and the exception that carries one.

Codes are constants; their one-line descriptions live in `DESCRIPTIONS`
(what `adfc serve` documents and returns beside the message). A call fails
with `CallError` (code, message, failing node, and the `CallResult` with its
trace); inputs that do not fit the declared types raise
`adf.workflow.signature.InputError` before any model is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from adf.api.result import CallResult

INVALID_INPUT: Final = "invalid_input"
MODEL_FAILED: Final = "model_failed"
MODEL_TIMEOUT: Final = "model_timeout"
REPLY_UNREADABLE: Final = "reply_unreadable"
FUNCTION_FAILED: Final = "function_failed"
CALL_FAILED: Final = "call_failed"
REQUEST_TIMEOUT: Final = "request_timeout"

DESCRIPTIONS: Final[dict[str, str]] = {
    INVALID_INPUT: "the inputs do not fit the workflow's declared types",
    MODEL_FAILED: "a model call failed after its retries (server error, refused, unreachable)",
    MODEL_TIMEOUT: "a model call timed out after its retries",
    REPLY_UNREADABLE: "a model's reply could not be read as the declared output type",
    FUNCTION_FAILED: "a `py` function of the workflow raised an error",
    CALL_FAILED: "the call failed for another reason (see the message)",
    REQUEST_TIMEOUT: "the whole call took longer than the time allowed",
}

_BY_KIND: Final[dict[str, str]] = {
    "model": MODEL_FAILED,
    "parse": REPLY_UNREADABLE,
    "function": FUNCTION_FAILED,
}


def code_of(kind: str, message: str) -> str:
    """The code of a failed sample, from its error kind and message."""
    code = _BY_KIND.get(kind, CALL_FAILED)
    if code == MODEL_FAILED and "timed out" in message:
        return MODEL_TIMEOUT
    return code


class CallError(Exception):
    """A call that ran but produced no outputs; `result` holds its trace and usage."""

    def __init__(self, code: str, message: str, node: str | None,
                 result: CallResult | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.node = node
        self.result = result
