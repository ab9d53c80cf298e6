"""Argument types shared by the sub-commands: each parses one text or says why not."""

from __future__ import annotations

import argparse
import math
import os


def positive_int(text: str) -> int:
    return _bounded_int(text, 1, "a positive integer")


def whole_number(text: str) -> int:
    return _bounded_int(text, 0, "a whole number")


def add_source_limit(parser: argparse.ArgumentParser) -> None:
    """`--max-source-mb N`: the largest source file read (default 8 MB)."""
    parser.add_argument("--max-source-mb", type=positive_int, default=None, metavar="N",
                        help="read source files up to N megabytes (default 8)")


def source_limit(args: argparse.Namespace) -> int | None:
    megabytes = getattr(args, "max_source_mb", None)
    return None if megabytes is None else megabytes * 1_000_000


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {text!r}")
    return value


def seconds(text: str) -> float:
    """A positive, finite number of seconds (a timeout: 0, nan or inf would never fire or
    always fire)."""
    return _bounded_float(text, 0.0, "a positive number of seconds", inclusive=False)


def grace_seconds(text: str) -> float:
    return _bounded_float(text, 0.0, "a number of seconds, 0 or more", inclusive=True)


def port(text: str) -> int:
    value = _bounded_int(text, 0, "a port from 0 to 65535")
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, found {text!r}")
    return value


def _bounded_float(text: str, low: float, what: str, *, inclusive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    fits = value >= low if inclusive else value > low
    if not (fits and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}")
    return value


def _bounded_int(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}")
    return value


def adf_files(paths: list[str]) -> list[str]:
    """The paths given, with each directory replaced by the `.adf` files under it
    (sorted, hidden folders skipped), as `adfc check` and `adfc fmt` take them."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".adf")]
        else:
            found.append(path)
    return found
