from __future__ import annotations

import json
from pathlib import Path

import pytest
from rt_helpers import responder

from adf.cli.main import main
from adf.testing.fake_server import FakeServer, last_user

SOURCE = '''
model student = "local" { temperature: 0, max_tokens: 64 }
train { backward: student, optimizer: student }
param instruction: prompt "the task instruction" = "Answer the question."
param answer_format: prompt frozen = "Finish with: Answer: <integer>"
input question: str
target answer: int
llm solve(question: str) -> str using student {
  system: [instruction, answer_format]
  user: "Question: {question}"
}
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve(question)
node pred = last_int(reply)
loss acc = std.loss.exact_match(pred, answer)
output pred
'''


def test_eval_compiles_a_source_file_and_honours_model_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "count.adf").write_text(SOURCE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val.jsonl").write_text(
        '{"question": "two", "answer": 2}\n{"question": "three", "answer": 4}\n')
    with FakeServer(responder(lambda r: "Answer: " + {"Question: two": "2"}.get(
            last_user(r), "3"))) as server:
        status = main(["eval", "count.adf", "--data", "data", "--split", "val", "--json",
                       "--api-base", f"student={server.base_url}", "--model",
                       "student=openai/other"])
        sent = server.requests
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert out["score"] == 0.5 and out["correct"] == 1 and out["wrong"] == 1
    assert {r["model"] for r in sent} == {"other"}


def test_a_source_with_errors_prints_diagnostics_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.adf"
    bad.write_text(SOURCE.replace("node pred = last_int(reply)", "node pred = last_int(nope)"))
    (tmp_path / "d.jsonl").write_text('{"question": "q", "answer": 1}\n')
    assert main(["eval", str(bad), "--data", str(tmp_path / "d.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "nothing was run" in err


def test_eval_uses_the_lock_file_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adf.compiler.pipeline import compile_file
    from adf.optim.lockfile import write_lock

    monkeypatch.chdir(tmp_path)
    (tmp_path / "count.adf").write_text(SOURCE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.jsonl").write_text('{"question": "two", "answer": 2}\n')
    plan = compile_file("count.adf").plan
    assert plan is not None
    write_lock("count.adf", plan, {"instruction": "Count CAREFULLY."}, {"steps": 1})
    with FakeServer(responder(lambda r: "Answer: 2")) as server:
        base = ["eval", "count.adf", "--split", "test", "--json", "--no-cache",
                "--api-base", f"student={server.base_url}"]
        assert main(base) == 0
        assert main([*base, "--no-lock"]) == 0
        systems = [r["messages"][0]["content"] for r in server.requests]
    err = capsys.readouterr().err
    assert "Count CAREFULLY." in systems[0]
    assert "Count CAREFULLY." not in systems[1] and "Answer the question." in systems[1]
    assert "using trained values" in err and "instruction" in err


def test_backward_prompt_is_cut_to_fit_the_engine_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rt_helpers import is_backward

    from adf.llm.catalogue import bound_messages
    from adf.llm.protocol import Message

    monkeypatch.chdir(tmp_path)
    source = SOURCE.replace("max_tokens: 64 }", "max_tokens: 64, context: 700 }")
    (tmp_path / "count.adf").write_text(source)
    long_question = "apple " * 400  # far more than the 700-token context can show
    (tmp_path / "d.jsonl").write_text(json.dumps({"question": long_question, "answer": 5}) + "\n")
    with FakeServer(responder(lambda r: "Answer: 3")) as server:
        assert main(["backward", "count.adf", "--data", "d.jsonl", "--no-cache",
                     "--api-base", f"student={server.base_url}"]) == 0
        reviews = [r for r in server.requests if is_backward(r)]
    assert len(reviews) == 1
    messages = [Message(m["role"], m["content"]) for m in reviews[0]["messages"]]
    assert "left out to fit the context" in messages[-1].content
    assert "Question: apple" in messages[-1].content  # the head of the sample's input stays
    assert bound_messages(messages) + reviews[0]["max_tokens"] <= 700
