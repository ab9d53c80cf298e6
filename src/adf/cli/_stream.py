"""Where `adfc` writes diagnostics: one rule for every sub-command.

Takes rendered text; gives nothing back. Diagnostics in the human format
(rustc-style errors and warnings, their per-file summary, one-line `adfc CMD:
...` failures) go to standard error, as rustc and cargo print theirs; what a
command produces goes to standard output: the records of `--format json` and
`--format sarif` (the command's result, for a machine reader), a plan listing,
a graph, a cost table, run results. So `adfc check --format json f.adf >
report.json` holds the records alone, and `adfc graph f.adf > g.dot` holds a
graph even when the file has warnings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def print_records(chunks: Iterable[str]) -> None:
    """A command's records (JSON, SARIF text) on standard output, piece by piece as they
    are made: a run with thousands of diagnostics never holds all of their text."""
    write = sys.stdout.write
    for chunk in chunks:
        write(chunk)
    write("\n")


def print_diagnostics(text: str) -> None:
    """Human-format diagnostics (or a summary of them) on standard error."""
    print(text, file=sys.stderr, end="" if text.endswith("\n") else "\n")


def diagnostics_color(choice: str = "auto") -> bool:
    """Whether to colour diagnostics: `always`, `never`, or `auto` (standard error is a
    terminal and NO_COLOR is not set)."""
    if choice != "auto":
        return choice == "always"
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")
