"""SARIF output validates against the OASIS SARIF 2.1.0 schema shipped in tests/analysis/data."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import jsonschema
import pytest

from adf.analysis.config import LintConfig
from adf.analysis.lint import lint_plan
from adf.analysis.sarif import render_sarif, to_uri
from adf.compiler.codes import all_codes
from adf.compiler.pipeline import compile_source
from adf.diagnostics import Diagnostic, Label, Severity, Span

_DOCUMENT = json.loads((pathlib.Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
# This copy of the OASIS schema keeps the log's own schema under definitions/Root (see
# data/SOURCE.md); validate against that, or nothing would be checked.
SCHEMA = {**_DOCUMENT, "$ref": "#/definitions/Root"}

SOURCE = """model student = "local" { max_tokens: 64 }
param instruction: prompt = "Answer."
param tone: prompt = "Be brief."
input question: str
target answer: int
llm solve(question: str) -> str using student {
  system: [instruction]
  user: "Question: {question}"
}
llm summarize(question: str) -> str using student {
  system: [tone]
  user: "Summarize: {question}"
}
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve(question)
node pred = last_int(reply)
node summary = summarize(question)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""


def validate(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    return log


def lint_source(name: str, source: str) -> tuple[Diagnostic, ...]:
    result = compile_source(source, name)
    assert result.plan is not None
    return lint_plan(result.plan, name, source, LintConfig(), result.diagnostics)


def test_lint_results_validate_and_point_at_the_source() -> None:
    found = lint_source("flows/w.adf", SOURCE)
    assert {d.code for d in found} == {"W0501", "W0504"}
    log = validate(render_sarif(found, {"flows/w.adf": SOURCE}))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][: len(all_codes())] == list(all_codes())
    results = run["results"]
    assert [r["ruleId"] for r in results] == [d.code for d in found]
    w0501 = next(r for r in results if r["ruleId"] == "W0501")
    assert rules[w0501["ruleIndex"]]["id"] == "W0501"
    region = w0501["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 3 and region["snippet"]["text"].startswith("param tone")
    assert w0501["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "flows/w.adf"
    assert w0501["relatedLocations"] and all("message" in r for r in w0501["relatedLocations"])
    assert "help:" in w0501["message"]["text"]
    assert run["columnKind"] == "unicodeCodePoints"


def test_errors_and_every_registered_rule_validate() -> None:
    result = compile_source("node x = nope(1)\n", "bad.adf")
    assert any(d.is_error for d in result.diagnostics)
    log = validate(render_sarif(result.diagnostics, {"bad.adf": result.source}))
    assert log["runs"][0]["results"][0]["level"] == "error"
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["defaultConfiguration"]["level"] in ("error", "warning") for r in rules)


def test_unregistered_code_absolute_path_and_odd_spans_still_validate(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "a b.adf")
    diagnostic = Diagnostic("W0999", Severity.NOTE, "made up", path, Label(Span(0, 0, 0, 0)),
                            secondary=(Label(Span(2, 5, 2, 3), ""),))
    log = validate(render_sarif([diagnostic], {}))
    result = log["runs"][0]["results"][0]
    assert result["level"] == "note"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file://")
    assert to_uri(path).endswith("a%20b.adf")


def test_no_diagnostics_is_a_valid_empty_run() -> None:
    log = validate(render_sarif([], {}))
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize("code", ["W0510", "W0603"])
def test_page_examples_validate(code: str) -> None:
    example = all_codes()[code].example
    assert example is not None
    found = lint_source(f"{code}.adf", example)
    validate(render_sarif(found, {f"{code}.adf": example}))


def test_the_schema_check_rejects_a_broken_log() -> None:
    log = json.loads(render_sarif(lint_source("w.adf", SOURCE), {"w.adf": SOURCE}))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(log)


def test_all_examples_lint_to_valid_sarif() -> None:
    root = pathlib.Path(__file__).parents[2] / "examples"
    paths = sorted(root.glob("**/*.adf"))
    assert paths, "no examples found"
    found: list[Diagnostic] = []
    sources = {}
    for path in paths:
        name = str(path.relative_to(root.parent))
        source = path.read_text()
        result = compile_source(source, name)
        sources[name] = source
        if result.plan is None:
            found += result.diagnostics
        else:
            found += lint_plan(result.plan, name, source, LintConfig(), result.diagnostics)
    log = validate(render_sarif(found, sources))
    assert len(log["runs"][0]["results"]) == len(found)


def test_check_command_prints_valid_sarif_for_several_files(
    tmp_path: pathlib.Path, capsys: Any
) -> None:
    from adf.cli.main import main

    broken = tmp_path / "broken.adf"
    broken.write_text("input question: str\nnode reply = solve(question)\n", encoding="utf-8")
    unused = tmp_path / "unused.adf"
    unused.write_text(
        'model m = "local"\ninput question: str\ninput unused: str\n'
        'fn up(text: str) -> str = std.parse.strip\nnode pred = up(question)\noutput pred\n',
        encoding="utf-8",
    )
    status = main(["check", "--format", "sarif", str(broken), str(unused)])
    log = validate(capsys.readouterr().out)
    results = log["runs"][0]["results"]
    assert status == 1
    assert {r["ruleId"] for r in results} >= {"E0102", "W0505"}
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert len(files) == 2
