"""`adfc graph --trace`: the path one sample took, from `adfc run --json` output
or from a `--trace` call log, drawn over the graph (taken green, untaken dashed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adf.analysis.drawing import build_drawing
from adf.analysis.takenpath import TraceError, taken_path
from adf.cli.main import main
from adf.compiler.pipeline import compile_source
from adf.testing.fake_server import FakeServer, Request, last_user

ROUTER = """\
model m = "openai/fake"
input question: str
llm kind(question: str) -> enum{NUM, OTHER} using m { user: "kind? {question}" }
llm count(question: str) -> str using m { user: "count {question}" }
llm general(question: str) -> str using m { user: "general {question}" }
node pred = match kind(question) { NUM => count(question), _ => general(question) }
output pred
"""

LOOP = """\
model m = "openai/fake"
input question: str
state notes: str = ""
llm step(question: str, notes: str) -> str using m { user: "step {question} {notes}" }
llm stop(notes: str) -> bool using m { user: "stop? {notes}" }
loop hop in 0..3 until done {
  node x = step(question, notes)
  notes = notes + x
  node done = stop(notes)
}
output notes
"""


def answer(request: Request) -> str:
    text = last_user(request)
    if text.startswith("kind?"):
        return "NUM"
    if text.startswith("stop?"):
        return "true"
    return "ok"


def run(tmp_path: Path, source: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    program = tmp_path / "p.adf"
    program.write_text(source, encoding="utf-8")
    calls = tmp_path / "calls.jsonl"
    with FakeServer(answer) as server:
        code = main(["run", str(program), "--input", json.dumps({"question": "how many?"}),
                     "--api-base", f"m={server.base_url}", "--no-cache", "--json",
                     "--trace", str(calls)])
    assert code == 0
    run_json = tmp_path / "run.json"
    run_json.write_text(capsys.readouterr().out, encoding="utf-8")
    return program, run_json, calls


def styles(dot: str, node: str) -> str:
    line = next(line for line in dot.splitlines() if line.strip().startswith(f'"{node}" ['))
    return line.split('", shape=', 1)[1]  # the attributes after the label


@pytest.mark.parametrize("which", ["run", "calls"])
def test_the_taken_branch_is_green_and_the_other_dashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    program, run_json, calls = run(tmp_path, ROUTER, capsys)
    trace = run_json if which == "run" else calls
    assert main(["graph", str(program), "--trace", str(trace), "-o", str(tmp_path / "g.dot")]) == 0
    dot = (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert "#2b8a3e" in styles(dot, "pred.1")  # NUM => count(question): taken
    assert 'style="dashed"' in styles(dot, "pred.2") and "#2b8a3e" not in styles(dot, "pred.2")
    assert "#2b8a3e" in styles(dot, "pred")  # the select node ran


def test_steps_after_an_early_exit_are_not_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, calls = run(tmp_path, LOOP, capsys)
    plan = compile_source(LOOP, "p.adf").plan
    assert plan is not None
    path = taken_path(plan, calls.read_text(encoding="utf-8"))
    assert path.ran["x@0"] and path.ran["done@0"]
    assert not path.ran["x@1"] and not path.ran["x@2"] and not path.ran["notes@1"]
    drawing = build_drawing(plan, path)
    edges = {(e.source, e.target): e.taken for e in drawing.edges}
    assert edges[("x@0", "notes@0")] is True and edges[("notes@0", "x@1")] is False
    svg_path = tmp_path / "g.html"
    assert main(["graph", str(tmp_path / "p.adf"), "--trace", str(calls), "-o", str(svg_path)]) == 0
    html = svg_path.read_text(encoding="utf-8")
    assert "vertex llm taken" in html and "vertex llm untaken" in html
    assert "traced: " in html


def test_a_trace_that_does_not_fit_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program, _, calls = run(tmp_path, ROUTER, capsys)
    assert main(["graph", str(program), "--trace", str(calls), "--sample", "nope"]) == 1
    assert "has no call of sample 'nope'" in capsys.readouterr().err
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n", encoding="utf-8")
    assert main(["graph", str(program), "--trace", str(junk)]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["graph", str(program), "--trace", str(tmp_path / "missing.jsonl")]) == 2
    other = compile_source('model m = "openai/fake"\ninput q: str\nllm a(q: str) -> str { user: "{q}" }\n'
                           "node zzz = a(q)\noutput zzz\n", "o.adf").plan
    assert other is not None
    with pytest.raises(TraceError, match="names no node of this plan"):
        taken_path(other, '{"id": "s", "trace": [{"node": "pred", "status": "ok"}]}')
