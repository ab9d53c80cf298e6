"""The HotpotQA per-passage summary example (`map`) trains on the fake server:
one summary call per retrieved passage, feedback for the shared summary
instruction from every passage tagged with its item, and the scripted cue
learned by that instruction."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hotpotqa_task import compiled, first_row, on_fake_server, project
from optim_task import current_value, responder, train_args

from adf.cli.main import main
from adf.llm.client import LiteLLMClient
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

CUE = "Start with the question's last word."


def last_word(text: str) -> str:
    return text.split("Question: ", 1)[1].split("\n", 1)[0].rstrip("?").split()[-1]


def answer(request: Request) -> str:
    """Summaries carry the key word only once the instruction asks for it; the
    answer is that word when a note has it."""
    text, system = last_user(request), system_text(request)
    if "Summarise what the passage says" in system:
        return f"Key: {last_word(text)}." if CUE in system else "The passage is about something."
    notes = [line for line in text.split("\n") if line.startswith("- Key: ")]
    return notes[0].removeprefix("- Key: ").rstrip(".") if notes else "unknown"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if current.startswith("Summarise") and CUE not in current else current
    return f"<reasoning>The notes lack the key word.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)


def test_each_passage_is_summarised_and_its_feedback_tagged(tmp_path: Path) -> None:
    plan = compiled(tmp_path / "proj", "hotpotqa_map")
    with FakeServer(respond) as server:
        bound = on_fake_server(plan, server.base_url)
        samples = first_row()
        client = LiteLLMClient()
        result = asyncio.run(evaluate(bound, samples, client, base_dir=str(tmp_path / "proj")))
        forward = server.request_count
        grads = asyncio.run(backward(bound, result, client))
    (sample,) = result.samples
    traces = {t.node: t for t in sample.nodes}
    passages = traces["passages"].value
    assert len(passages) == 3 and forward == 4  # three summaries and the answer
    assert traces["notes"].value == ["The passage is about something."] * 3
    assert [traces[f"notes#{i}.item"].value for i in range(3)] == passages
    summary = grads.for_param("summary_instruction")
    assert [(f.node, f.item) for f in summary] == [(f"notes#{i}", i) for i in range(3)]
    assert all(f.item is None for f in grads.for_param("answer_instruction"))


def test_hotpotqa_map_example_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = project(tmp_path / "proj", "hotpotqa_map")
    with FakeServer(respond) as server:
        code = main(train_args(str(source), server.base_url, str(tmp_path)))
    assert code == 0
    lock = json.loads((tmp_path / "proj" / "hotpotqa_map.adf.lock").read_text())
    assert CUE in lock["params"]["summary_instruction"]["value"]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (report["scores"]["test_before"], report["scores"]["test_after"]) == (0.0, 1.0)
