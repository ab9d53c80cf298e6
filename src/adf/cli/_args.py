"""Argument types shared by the sub-commands: each parses one text or says why not."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    return _bounded_int(text, 1, "a positive integer")


def whole_number(text: str) -> int:
    return _bounded_int(text, 0, "a whole number")


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {text!r}")
    return value


def _bounded_int(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}")
    return value
