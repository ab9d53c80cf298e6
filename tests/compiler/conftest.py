"""Shared helpers for the compiler tests: compile a snippet, take its plan, collect its codes."""

from __future__ import annotations

import pathlib

import pytest

from adf.compiler.pipeline import CompileResult, compile_source
from adf.plan.schema import Plan

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))

HEADER = 'model m = "local"\ninput q: str\n'


def compile_text(text: str, name: str = "t.adf") -> CompileResult:
    return compile_source(text, name, base_dir=str(REPO / "examples" / "hotpotqa"))


def plan_of(text: str, *, errors_only: bool = False) -> Plan:
    """The plan of a snippet that compiles without diagnostics (without errors, if asked)."""
    result = compile_text(text)
    found = [d for d in result.diagnostics if d.is_error or not errors_only]
    assert [f"{d.code} {d.message}" for d in found] == []
    assert result.plan is not None
    return result.plan


def error_free_plan(text: str) -> Plan:
    """The plan of a snippet that compiles without errors (warnings allowed)."""
    return plan_of(text, errors_only=True)


def codes(text: str) -> list[str]:
    return sorted(d.code for d in compile_text(text).diagnostics)


@pytest.fixture
def repo() -> pathlib.Path:
    return REPO
