"""Shared helpers for the compiler tests: compile a snippet, collect its codes."""

from __future__ import annotations

import pathlib

import pytest

from adf.compiler.pipeline import CompileResult, compile_source

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))

HEADER = 'model m = "local"\ninput q: str\n'


def compile_text(text: str, name: str = "t.adf") -> CompileResult:
    return compile_source(text, name, base_dir=str(REPO / "examples" / "hotpotqa"))


def codes(text: str) -> list[str]:
    return sorted(d.code for d in compile_text(text).diagnostics)


@pytest.fixture
def repo() -> pathlib.Path:
    return REPO
