"""The one diagnostic type shared by the compiler, the analyses and the runtime.

Takes nothing; gives `Span`, `Label`, `Diagnostic` and `Severity`. Pure data:
rendering (human, JSON, SARIF) lives in `adf.compiler.render` and
`adf.analysis.sarif`; the registry of codes lives in `adf.compiler.codes`.
Spans carry no file name: a diagnostic names its file once, so a plan's
spans stay identical when the same source is compiled from another path.
"""

from __future__ import annotations

import enum

import attrs


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@attrs.frozen(order=True, weakref_slot=False)  # no weak references: 64 bytes, not 72
class Span:
    """A 1-based, end-exclusive range of source text (columns count characters)."""

    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(line: int, col: int) -> Span:
        return Span(line, col, line, col + 1)


@attrs.frozen(weakref_slot=False)  # one per diagnostic: no weak references
class Label:
    span: Span
    message: str = ""


@attrs.frozen(weakref_slot=False)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    file: str
    primary: Label
    secondary: tuple[Label, ...] = ()
    notes: tuple[str, ...] = ()
    help: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR
