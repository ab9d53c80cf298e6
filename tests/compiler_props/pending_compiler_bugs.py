"""Compiler bugs found by fuzzing, kept out of the suite until they are fixed.

Each test is a minimal reproduction and fails today. Rename this file to
`test_props_regressions.py` (pytest collects `test_*.py` only) once fixed.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

from adf.compiler.pipeline import compile_source
from adf.plan.codec import decode_plan, encode_plan

HEAD = 'model m = "local"\ninput q: str\nllm f(x: str) -> str using m { user: "{x}" }\n'
CLEAN = HEAD + "node a = f(q)\noutput a\n"


def test_int_literal_with_more_than_4300_digits() -> None:
    # parser.py on_loop_decl: int(start.value) raises ValueError (Python's int-string limit)
    result = compile_source(HEAD + "loop i in 0.." + "9" * 5000 + " { node b = f(q) }\n", "p.adf")
    assert not result.ok and {d.code for d in result.diagnostics} <= {"E0302", "E0003", "E0210"}


def test_int_literal_digits_in_option() -> None:
    result = compile_source(CLEAN.replace('"local"', '"local" { max_tokens: ' + "9" * 5000 + " }"), "p.adf")
    assert result.diagnostics


def test_int_outside_64_bits_is_a_diagnostic_not_an_encode_crash() -> None:
    # compiles clean today, then encode_plan raises OverflowError (msgpack ints are 64-bit),
    # so `adfc compile` exits 70 with "internal error"
    for text in (
        CLEAN.replace('"local"', '"local" { max_tokens: 99999999999999999999999 }'),
        CLEAN + "param d: demos(max: 99999999999999999999999) = []\n",
        CLEAN.replace('"local"', '"local" { max_tokens: -99999999999999999999999 }'),
    ):
        result = compile_source(text, "p.adf")
        if result.plan is not None:
            assert decode_plan(encode_plan(result.plan)) == result.plan
        else:
            assert result.diagnostics


def test_cli_compile_big_int(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big.adf"
    path.write_text(CLEAN.replace('"local"', '"local" { max_tokens: 99999999999999999999999 }'))
    proc = subprocess.run([sys.executable, "-m", "adf.cli.main", "compile", str(path)], capture_output=True, text=True)
    assert proc.returncode in (0, 1, 2), proc.stderr


def test_surrogate_escape_in_a_string() -> None:
    # `"\\ud800"` unescapes to a lone surrogate; the compiler accepts it, then
    # encode_plan raises UnicodeEncodeError, so `adfc compile` exits 70 (internal error).
    # Either reject lone surrogates in \\u escapes (a diagnostic) or encode them.
    result = compile_source(CLEAN + 'param p: prompt = "\\ud800"\n', "p.adf")
    if result.plan is not None:
        assert decode_plan(encode_plan(result.plan)) == result.plan
    else:
        assert result.diagnostics


def test_lone_surrogate_in_source_text_api() -> None:
    # the same through compile_source with a str that holds a surrogate in a literal
    result = compile_source(CLEAN + 'param p: prompt = "\ud800"\n', "p.adf")
    if result.plan is not None:
        assert decode_plan(encode_plan(result.plan)) == result.plan


def _codes(text: str) -> list[str]:
    return sorted(d.code for d in compile_source(text, "p.adf").diagnostics)


LOSS_HEAD = HEAD + "target t: str\nnode a = f(q)\noutput a\n"


def test_repeated_loss_option_is_reported() -> None:
    # E0212's page: "an option that the metric ... does not take, or a repeated one"; today: no diagnostic
    text = LOSS_HEAD + "loss l = std.loss.numeric_match(a, t, tolerance: 1, tolerance: 2)\n"
    assert _codes(text) == ["E0212"]


def test_repeated_model_option_is_reported() -> None:
    # `{ max_tokens: 1, max_tokens: 2 }` compiles clean today; the plan keeps both entries
    text = CLEAN.replace('"local"', '"local" { max_tokens: 1, max_tokens: 2 }')
    assert _codes(text) == ["E0212"]


def test_loop_variable_outside_its_loop_gives_one_error() -> None:
    # today: E0102 (undefined `i`) and a follow-on E0211 (compares `int` with `str`) for the same name
    text = LOSS_HEAD + "loop i in 0..2 { node z = f(q) }\nloss l = std.loss.exact_match(i, t)\n"
    assert _codes(text) == ["E0102"]


def test_py_metric_signature_is_checked() -> None:
    # `search(query)` takes one argument but is used as a metric(pred, target); accepted silently today
    text = LOSS_HEAD + 'loss l = py "retrieval:search"(a, t)\n'
    base = str(pathlib.Path(__file__).resolve().parents[2] / "examples" / "hotpotqa")
    assert compile_source(text, "p.adf", base_dir=base).diagnostics


def test_positional_after_keyword_argument_is_named() -> None:
    # `f(input: q, q)` reports E0204 "missing the argument `output`", which hides the real
    # mistake (a positional argument after a keyword one); expect a message that says so
    text = 'model m = "local"\ninput q: str\nllm f(a: str, b: str) -> str { user: "{a}{b}" }\nnode n = f(a: q, q)\noutput n\n'
    result = compile_source(text, "p.adf")
    assert any("positional" in d.message for d in result.diagnostics)
