"""Lint configuration (`[tool.adf]`), inline suppressions and `lint_plan` as a whole."""

from __future__ import annotations

import pathlib

from adf.analysis.config import LintConfig, LoopLimits, find_pyproject, load_lint_config
from adf.analysis.lint import lint_plan
from adf.analysis.suppress import comments, find_suppressions
from adf.compiler.pipeline import compile_source
from adf.diagnostics import Diagnostic, Severity

BASE = """model student = "local" { max_tokens: 64 }
param instruction: prompt = "Answer."
input question: str
target answer: int
llm solve(question: str) -> str using student {
  system: [instruction]
  user: "Question: {question}"
}
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve(question)
node pred = last_int(reply)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""


def lint(source: str, config: LintConfig | None = None) -> tuple[Diagnostic, ...]:
    result = compile_source(source, "t.adf")
    assert result.plan is not None, result.diagnostics
    return lint_plan(result.plan, "t.adf", source, config or LintConfig(), result.diagnostics)


def codes(found: tuple[Diagnostic, ...]) -> list[tuple[str, int]]:
    return [(d.code, d.primary.span.line) for d in found]


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    (tmp_path / "pyproject.toml").write_text(text)
    sub = tmp_path / "flows" / "deep"
    sub.mkdir(parents=True)
    return sub


# --- configuration -----------------------------------------------------------


def test_no_pyproject_means_defaults(tmp_path: pathlib.Path) -> None:
    assert find_pyproject(str(tmp_path)) is None  # nothing above the temporary directory
    assert load_lint_config(str(tmp_path / "x.adf")) == (LintConfig(), ())


def test_nearest_pyproject_is_read(tmp_path: pathlib.Path) -> None:
    sub = write(tmp_path, '[tool.adf]\ndisable = ["W0505"]\nerror = ["W05"]\n'
                          "[tool.adf.lint]\nmax-calls-per-sample = 7\n")
    config, problems = load_lint_config(str(sub / "flow.adf"))
    assert problems == ()
    assert config.path == str(tmp_path / "pyproject.toml")
    assert config.disable == {"W0505"} and config.error == {"W05"}
    assert config.limits == LoopLimits(max_calls_per_sample=7)
    assert not config.is_enabled("W0505") and config.is_enabled("W0506")
    assert config.is_promoted("W0507") and not config.is_promoted("W0601")


def test_unknown_codes_are_reported_where_they_are_written(tmp_path: pathlib.Path) -> None:
    sub = write(tmp_path, '[project]\nname = "x"\n\n[tool.adf]\ndisable = ["W0504", "W9999", "X1"]\n')
    config, problems = load_lint_config(str(sub))
    assert [(p.code, p.primary.span.line) for p in problems] == [("W0520", 5), ("W0520", 5)]
    assert problems[0].file == str(tmp_path / "pyproject.toml")
    assert problems[0].primary.span.col == len('disable = ["W0504", "') + 1
    assert config.disable == {"W0504"}


def test_bad_settings_are_reported(tmp_path: pathlib.Path) -> None:
    sub = write(tmp_path, '[tool.adf]\nenable = "W0501"\ndisable = ["E0102"]\n'
                          '[tool.adf.lint]\nmax-calls = 3\nmax-unrolled-nodes = -1\n')
    config, problems = load_lint_config(str(sub))
    assert [p.code for p in problems] == ["W0521"] * 4
    messages = " | ".join(p.message for p in problems)
    assert "`enable` must be a list" in messages and "errors cannot be disabled" in messages
    assert "unknown setting `max-calls`" in messages and "positive integer" in messages
    assert config == LintConfig(path=config.path)


def test_broken_toml_is_one_diagnostic(tmp_path: pathlib.Path) -> None:
    sub = write(tmp_path, "[tool.adf\n")
    config, problems = load_lint_config(str(sub))
    assert [p.code for p in problems] == ["W0521"] and config.disable == frozenset()


def test_deeply_nested_toml_is_one_diagnostic_not_a_crash(tmp_path: pathlib.Path) -> None:
    sub = write(tmp_path, "[tool.adf]\ndisable = []\n[tool.other]\nx = " + "[" * 100_000
                + "]" * 100_000 + "\n")
    _config, problems = load_lint_config(str(sub))
    assert [p.code for p in problems] == ["W0521"] and "too deeply" in problems[0].message


# --- configuration applied by lint_plan --------------------------------------------


def test_disable_and_promote() -> None:
    source = BASE + "input extra: str\nparam spare: prompt = \"x\"\n"
    assert codes(lint(source)) == [("W0505", 14), ("W0507", 15)]
    assert codes(lint(source, LintConfig(disable=frozenset({"W0505"})))) == [("W0507", 15)]
    assert lint(source, LintConfig(disable=frozenset({"W05"}))) == ()
    promoted = lint(source, LintConfig(error=frozenset({"W0507"})))
    assert [d.severity for d in promoted] == [Severity.WARNING, Severity.ERROR]


def test_errors_cannot_be_suppressed() -> None:
    from adf.analysis.lint import apply_config

    error = compile_source("node x = nope(1)  # adf: allow E0102\n", "t.adf").diagnostics
    kept = apply_config(error, "t.adf", "node x = nope(1)  # adf: allow E0102\n",
                        LintConfig(disable=frozenset({"E"})))
    assert kept == error  # still there, and no W0513: the lints did not run


def test_limits_come_from_config() -> None:
    source = BASE + """fn append(items: list[str], item: str) -> list[str] = std.op.append
state guesses: list[str] = []
loop retry in 0..3 {
  node guess = solve(question)
  guesses = append(guesses, guess)
}
output guesses
"""
    assert lint(source) == ()
    tight = LintConfig(limits=LoopLimits(max_calls_per_sample=2, max_unrolled_nodes=5))
    assert [d.code for d in lint(source, tight)] == ["W0511", "W0512"]


# --- inline suppressions ---------------------------------------------------------


def test_comments_skip_strings() -> None:
    source = 'param a: prompt = "# not a comment"  # real\nparam b: prompt = """\n# inside\n"""\n# last'
    assert [(line, text) for line, _, text in comments(source)] == [(1, "# real"), (5, "# last")]


def test_suppression_on_the_line_and_above() -> None:
    source = BASE + ('input extra: str  # adf: allow W0505\n'
                     '# adf: allow W0507\n# why: kept for the next experiment\nparam spare: prompt = "x"\n')
    assert lint(source) == ()
    rules = find_suppressions(source)
    assert [sorted(r.lines) for r in rules] == [[14], [15, 17]]


def test_suppression_does_not_leak_to_other_lines_or_codes() -> None:
    source = BASE + 'input extra: str  # adf: allow W0507\nparam spare: prompt = "x"\n'
    assert codes(lint(source)) == [("W0505", 14), ("W0513", 14), ("W0507", 15)]


def test_file_wide_suppression_and_prefixes() -> None:
    source = "# adf: allow-file W05\n" + BASE + 'input extra: str\nparam spare: prompt = "x"\n'
    assert lint(source) == ()


def test_unused_suppression_can_be_disabled() -> None:
    source = BASE + "# adf: allow W0601\n"
    assert codes(lint(source)) == [("W0513", 14)]
    assert lint(source, LintConfig(disable=frozenset({"W0513"}))) == ()


def test_compiler_warnings_get_the_same_treatment() -> None:
    source = BASE.replace("llm solve(question: str)", "llm solve(question: str, hint: str)").replace(
        "node reply = solve(question)", "node reply = solve(question, question)")
    assert [d.code for d in lint(source)] == ["W0201"]
    assert lint(source, LintConfig(disable=frozenset({"W0201"}))) == ()


def test_lint_order_is_by_position() -> None:
    source = BASE + 'param spare: prompt = "x"\ninput extra: str\n'
    assert codes(lint(source)) == [("W0507", 14), ("W0505", 15)]
