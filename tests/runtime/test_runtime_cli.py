from __future__ import annotations

import json
from pathlib import Path

import pytest
from rt_helpers import responder
from test_runtime_forward import counting, forward_answer

from adf.cli.main import main
from adf.plan.codec import encode_plan
from adf.testing.fake_server import FakeServer

ROWS = [
    {"id": "a", "question": "How many apples?", "answer": 7},
    {"id": "b", "question": "How many pears?", "answer": 3},
    {"id": "c", "question": "How many apples now?", "answer": "8"},
]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in ROWS) + "{broken\n"
    )
    return tmp_path


def write_plan(path: Path, base_url: str) -> str:
    target = path / "count.plan"
    target.write_bytes(encode_plan(counting(base_url)))
    return str(target)


def test_eval_json_summary_and_warm_cache(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder(forward_answer)) as server:
        plan_file = write_plan(workspace, server.base_url)
        assert main(["eval", plan_file, "--data", "data.jsonl", "--json"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main(["eval", plan_file, "--data", "data.jsonl", "--json"]) == 0
        second = json.loads(capsys.readouterr().out)
        assert server.request_count == 3  # the second run was answered by the cache
    assert first["samples"] == 3 and first["bad_rows"] == 1
    assert first["correct"] == 1 and first["failed"] == 1 and first["wrong"] == 1
    assert first["score"] == pytest.approx(1 / 3)
    assert first["usage"]["requests"] == 3 and first["usage"]["failures"] == 0
    assert second["usage"]["requests"] == 0 and second["usage"]["cache_hits"] == 3
    assert second["score"] == first["score"]
    failed = [r for r in first["results"] if r["error"]]
    assert failed[0]["id"] == "b" and "no integer" in failed[0]["error"]["message"]
    assert "data.jsonl:4" in first["bad_row_details"][0]["where"]


def test_eval_text_report_lists_failures(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder(forward_answer)) as server:
        plan_file = write_plan(workspace, server.base_url)
        status = main(["eval", plan_file, "--data", "data.jsonl", "--no-cache", "--limit", "3",
                       "--fail-under", "0.5"])
    out = capsys.readouterr().out
    assert status == 1  # score 1/3 is under --fail-under 0.5
    assert "score 0.3333" in out
    assert "3 samples, 1 correct, 1 wrong, 1 failed" in out
    assert "b at pred: pred raised ValueError: no integer" in out
    assert "c: The prediction 7 is wrong: the expected answer is 8" in out
    assert "retries 0" in out


def test_run_one_sample(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder(forward_answer)) as server:
        plan_file = write_plan(workspace, server.base_url)
        status = main(["run", plan_file, "--no-cache", "--input",
                       '{"question": "How many apples?", "answer": 7}', "-v"])
        out = capsys.readouterr().out
        assert status == 0
        assert out.startswith("pred = 7\nloss acc: 1.00")
        assert "solve" in out and "Question: How many apples?" in out
        status = main(["run", plan_file, "--no-cache", "--json", "--input",
                       '{"question": "How many pears?"}'])
        data = json.loads(capsys.readouterr().out)
    assert status == 1
    assert data["error"]["node"] == "pred" and data["losses"] == []
    assert [n["node"] for n in data["trace"]] == ["solve", "pred"]
    assert data["trace"][0]["messages"][1]["content"] == "Question: How many pears?"


def test_backward_shows_feedback_per_param(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder(forward_answer)) as server:
        plan_file = write_plan(workspace, server.base_url)
        assert main(["backward", plan_file, "--data", "data.jsonl", "--no-cache"]) == 0
        out = capsys.readouterr().out
        assert main(["backward", plan_file, "--data", "data.jsonl", "--no-cache", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert "2 samples below 0.9 walked, 1 at or above it skipped; 2 backward calls" in out
    assert "answer_format (prompt, frozen): 0 feedback items" in out
    assert "fix instruction at solve" in out
    assert [(f["sample"], f["param"]) for f in data["feedback"]] == [
        ("b", "instruction"), ("b", "examples"), ("c", "instruction"), ("c", "examples")]


def test_clear_errors_not_tracebacks(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_file = write_plan(workspace, "http://127.0.0.1:9/v1")
    assert main(["eval", plan_file, "--data", "missing.jsonl"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["eval", plan_file, "--data", "data.jsonl", "--model", "nope=x"]) == 2
    assert "not declared" in capsys.readouterr().err
    assert main(["run", plan_file, "--input", "[1]"]) == 2
    assert "expected a JSON object, found an array" in capsys.readouterr().err
    assert main(["run", plan_file, "--input", "{}"]) == 2
    assert "missing field 'question'" in capsys.readouterr().err
    assert main(["eval", plan_file, "--data", "data.jsonl", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model unavailable" in err and "connection refused" in err
    (workspace / "bad.plan").write_bytes(b"garbage")
    assert main(["eval", "bad.plan", "--data", "data.jsonl"]) == 2
    assert "not a plan file" in capsys.readouterr().err
