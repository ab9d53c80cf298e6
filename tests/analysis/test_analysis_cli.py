"""`adfc cost`, `adfc graph` and `adfc fmt` end to end (in process), exit codes included."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from adf.cli.main import main

FLOW = """model student = "local" { max_tokens: 64 }
param instruction: prompt = "Answer the counting question."
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


@pytest.fixture
def flow(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "flow.adf"
    path.write_text(FLOW)
    return path


def test_cost_json_with_data_directory(flow: pathlib.Path, tmp_path: pathlib.Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"question": "' + "x" * 400 + '", "answer": 3}\nnot json\n')
    (data / "val.jsonl").write_text('{"question": "a", "answer": 1}\n' * 7)
    assert main(["cost", str(flow), "--data", str(data), "--format", "json", "--no-prices",
                 "--steps", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["forward"]["calls"] == 1 and out["backward"]["calls"] == 1
    assert out["settings"]["val_size"] == 7 and out["settings"]["train"]["steps"] == 2
    assert out["inputs"][0] == {"name": "question", "tokens": 100, "measured": True}
    assert out["nodes"][0]["node_id"] == "reply"
    assert out["total"]["calls"] == sum(p["usage"]["calls"] for p in out["run"])


def test_cost_human_prices_local_model_free(flow: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", str(flow)]) == 0
    out = capsys.readouterr().out
    assert "per sample, forward pass: 1 call" in out
    assert "$0.0000" in out and "assumptions:" in out


def test_cost_errors(flow: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", str(tmp_path / "missing.adf")]) == 2
    assert main(["cost", str(flow), "--data", str(tmp_path / "nope.jsonl")]) == 2
    bad = tmp_path / "bad.adf"
    bad.write_text("node x = nope(1)\n")
    assert main(["cost", str(bad)]) == 1
    assert main(["cost", str(flow), "--fail-rate", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no such file" in err


def test_graph_formats(flow: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(flow)]) == 0
    assert capsys.readouterr().out.startswith('digraph "flow.adf" {')
    page = tmp_path / "g.html"
    assert main(["graph", str(flow), "-o", str(page)]) == 0
    assert page.read_text().startswith("<!DOCTYPE html>")
    svg = tmp_path / "g.svg"
    assert main(["graph", str(flow), "-o", str(svg)]) == 0
    root = ET.fromstring(svg.read_text())
    ids = {g.get("data-id") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-id")}
    assert ids == {"param:instruction", "question", "answer", "reply", "pred", "loss:acc", "output:pred"}
    assert main(["graph", str(flow), "-o", str(tmp_path / "no" / "dir.dot")]) == 2


def test_fmt_check_write_and_stdin(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    messy = tmp_path / "m.adf"
    messy.write_text("input  question:str\noutput question\n")
    tidy = tmp_path / "sub" / "t.adf"
    tidy.parent.mkdir()
    tidy.write_text("input question: str\n")
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"would reformat {messy}\n"
    assert main(["fmt", "--diff", str(messy)]) == 0
    assert "+input question: str" in capsys.readouterr().out
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text() == "input question: str\noutput question\n"
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    broken = tmp_path / "b.adf"
    broken.write_text("node = 1\n")
    assert main(["fmt", str(broken)]) == 1
    assert broken.read_text() == "node = 1\n"
    assert "syntax errors" in capsys.readouterr().err
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("output   x\n"))
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == "output x\n"


def test_cost_of_a_program_without_a_model_is_zero_calls(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # no llm and no model: nothing to call, and no internal error looking for one
    flow = tmp_path / "plain.adf"
    flow.write_text("input text: str\nfn strip(text: str) -> str = std.parse.strip\n"
                    "node pred = strip(text)\noutput pred\n", encoding="utf-8")
    assert main(["cost", str(flow), "--no-cache", "--format", "json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["calls"] == 0 and total["tokens"] == 0
