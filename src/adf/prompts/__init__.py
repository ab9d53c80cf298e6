"""Prompt templates for the backward engine (and other frozen roles), as package data.

Takes a template name; gives its text from `adf/prompts/<name>.txt`. Templates
use `{name}` placeholders filled once by `adf.runtime.template.fill`, so text
inserted into them is never expanded again.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of `adf/prompts/<name>.txt` (without a trailing newline)."""
    return resources.files("adf.prompts").joinpath(f"{name}.txt").read_text("utf-8").rstrip("\n")
