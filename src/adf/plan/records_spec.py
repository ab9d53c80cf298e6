"""Declarations of the plan package's small records (beside the plan itself, `schema_spec.py`).

Takes nothing; gives `Piece` (a piece of a template, `adf.plan.placeholders`)
and `OptionSpec` (a row of the typed table of model options,
`adf.plan.model_options`), which those modules import from here under their
names.
"""

from __future__ import annotations

from typing import Literal

import attrs

PieceKind = Literal["text", "brace", "hole", "malformed"]


@attrs.frozen
class Piece:
    """One piece of a template: `start`/`end` are offsets into the scanned text.

    `value` is the literal text for "text", the single brace for "brace", the
    argument's name for "hole" and the raw characters for "malformed"."""

    kind: PieceKind
    start: int
    end: int
    value: str


OptionKind = Literal["int", "number", "bool", "text", "choice"]
Reader = Literal["model", "client", "request"]
EnvUse = Literal["never", "allowed", "required"]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@attrs.frozen
class OptionSpec:
    name: str
    kind: OptionKind
    reader: Reader
    summary: str
    low: float | None = None  # inclusive lower bound
    high: float | None = None  # inclusive upper bound
    choices: tuple[str, ...] = ()
    env: EnvUse = "never"

    @property
    def expected(self) -> str:
        """What the option takes, in words, for messages and the docs."""
        match self.kind:
            case "int" | "number":
                what = "an integer" if self.kind == "int" else "a number"
                if self.low is not None and self.high is not None:
                    return f"{what} from {_num(self.low)} to {_num(self.high)}"
                if self.low is not None:
                    return f"{what} of at least {_num(self.low)}"
                return what
            case "bool":
                return "`true` or `false`"
            case "text":
                return '`env("VARIABLE")`' if self.env == "required" else "a string"
            case "choice":
                return "one of " + ", ".join(f'"{c}"' for c in self.choices)
