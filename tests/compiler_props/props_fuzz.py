"""Helpers for the no-crash fuzz tests: compile anything, insist on diagnostics.

Takes text or bytes; gives the `CompileResult` after checking the contract
that every input meets: no exception escapes, every diagnostic has a known
code and a position inside the file, and a clean result carries a plan
that encodes and decodes to itself.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

from adf.compiler.codes import all_codes
from adf.compiler.pipeline import CompileResult, compile_file, compile_source
from adf.plan.codec import decode_plan, encode_plan

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))
EXAMPLE_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES}
KNOWN = set(all_codes())


def check_result(result: CompileResult, text: str | None) -> CompileResult:
    for d in result.diagnostics:
        assert d.code in KNOWN, d.code
        assert d.message
        span = d.primary.span
        assert span.line >= 1 and span.col >= 1
        if text is not None:
            assert span.line <= text.count("\n") + 1, (d.code, span)
    if result.ok:
        assert result.plan is not None
        assert decode_plan(encode_plan(result.plan)) == result.plan
    else:
        assert result.plan is None
    return result


def compile_checked(text: str, name: str = "fuzz.adf") -> CompileResult:
    return check_result(compile_source(text, name, base_dir=str(REPO / "examples" / "hotpotqa")), text)


def compile_bytes(data: bytes) -> CompileResult:
    fd, path = tempfile.mkstemp(suffix=".adf")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return check_result(compile_file(path), None)
    finally:
        os.unlink(path)
