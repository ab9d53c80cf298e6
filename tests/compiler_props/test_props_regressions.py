"""Regressions: compiler bugs found by fuzzing and review, one minimal reproduction each."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from adf.compiler.pipeline import compile_source
from adf.plan.codec import PlanError, decode_plan, encode_plan
from adf.records import replace

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


def test_int_literal_at_the_64_bit_limits() -> None:
    for value, codes in (("9223372036854775807", []), ("-9223372036854775808", []),
                         ("9223372036854775808", ["E0008"]), ("-9223372036854775809", ["E0008"]),
                         ("0000000000000000000000000001", [])):
        text = CLEAN + f"state s: int = {value}\n"
        assert _codes(text) == codes, value


def test_huge_loop_bound_is_e0302() -> None:
    assert _codes(HEAD + "loop i in 0..99999999999999999999999 { node b = f(q) }\n") == ["E0302"]


def test_surrogate_pair_escape_is_one_character() -> None:
    result = compile_source(CLEAN + 'param p: prompt = "\\ud83d\\ude00"\n', "p.adf")
    assert result.plan is not None
    assert [p.value for p in result.plan.params if p.name == "p"] == ["\U0001f600"]


def test_lone_surrogate_escape_is_e0004() -> None:
    assert _codes(CLEAN + 'param p: prompt = "x\\udc00y"\n') == ["E0004"]


def test_encoder_refuses_out_of_range_values_cleanly() -> None:

    result = compile_source(CLEAN, "p.adf")
    assert result.plan is not None
    plan = result.plan
    with pytest.raises(PlanError, match="lone surrogate"):
        encode_plan(replace(plan, source_name=plan.source_name + "\ud800"))
    with pytest.raises(PlanError, match="64 bits"):
        encode_plan(replace(plan, format_version=2**64))


def test_state_enum_starts_with_a_member() -> None:
    assert _codes(CLEAN + 'state s: enum{A, B} = "A"\n') == []
    assert _codes(CLEAN + 'state s: enum{A, B} = "C"\n') == ["E0201"]
    assert _codes(CLEAN + 'state s: list[enum{A, B}] = ["A", "B"]\n') == []


def test_negative_tolerance_is_an_error() -> None:
    text = LOSS_HEAD + "loss l = std.loss.numeric_match(a, t, tolerance: -1)\n"
    assert _codes(text) == ["E0213"]
    assert _codes(text.replace("-1", "0.5")) == []


def test_empty_from_field_is_an_error() -> None:
    assert _codes(CLEAN.replace("input q: str", 'input q: str from ""')) == ["E0213"]


def test_repeated_demos_option_is_reported() -> None:
    assert _codes(CLEAN + "param d: demos(max: 1, max: 2) = []\n") == ["E0212"]


@pytest.mark.parametrize(
    ("metric", "codes"),
    [
        ("good", []),
        ("good\"(a, t, scale: 2)#", []),
        ("good\"(a, t, bogus: 2)#", ["E0212"]),
        ("one", ["E0401"]),
        ("three", ["E0401"]),
        ("needs", ["E0401"]),
        ("needs\"(a, t, k: 1)#", []),
        ("anykw\"(a, t, x: 1)#", []),
        ("varargs", []),
        ("missing", ["E0404"]),
    ],
)
def test_py_metric_signatures(tmp_path: pathlib.Path, metric: str, codes: list[str]) -> None:
    (tmp_path / "metrics.py").write_text(
        "def good(pred, target, *, scale=1.0): return 1.0\n"
        "def one(pred): return 1.0\n"
        "def three(pred, target, extra): return 1.0\n"
        "def needs(pred, target, *, k): return 1.0\n"
        "def anykw(pred, target, **kw): return 1.0\n"
        "def varargs(*args): return 1.0\n"
    )
    text = LOSS_HEAD + f'loss l = py "metrics:{metric}"(a, t)\n'
    assert sorted(d.code for d in compile_source(text, "p.adf", base_dir=str(tmp_path)).diagnostics) == codes


def test_positional_after_keyword_gives_only_that_error() -> None:
    text = 'model m = "local"\ninput q: str\nllm f(a: str, b: str) -> str using m { user: "{a}{b}" }\nnode n = f(a: q, q)\noutput n\n'
    assert _codes(text) == ["E0204"]


def test_positional_after_option_in_a_loss() -> None:
    text = LOSS_HEAD + "loss l = std.loss.numeric_match(a, tolerance: 1, t)\n"
    result = compile_source(text, "p.adf")
    assert [d.code for d in result.diagnostics] == ["E0204"]
    assert "positional" in result.diagnostics[0].message


def test_enum_argument_from_a_string_literal() -> None:
    text = (
        'model m = "local"\ninput q: str\n'
        'llm f(x: str, k: enum{A, B}) -> str using m { user: "{x}{k}" }\n'
        'node a = f(q, "A")\noutput a\n'
    )
    assert _codes(text) == []
    assert _codes(text.replace('"A")', '"C")')) == ["E0201"]


def test_compile_pauses_the_gc_and_restores_its_state() -> None:
    import gc

    assert gc.isenabled()
    compile_source(CLEAN, "p.adf")
    assert gc.isenabled()
    gc.disable()
    try:
        compile_source("this is not a program", "p.adf")
        assert not gc.isenabled()
    finally:
        gc.enable()
