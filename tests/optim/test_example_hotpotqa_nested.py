"""The nested-loop HotpotQA example trains on the fake server: each hop retries its
search until the scripted model keeps a result, the hop loop stops once the passages
suffice, the steps after either exit make no call, and feedback reaches the
instructions of the steps that ran, in time order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hotpotqa_task import (
    ANSWER_CUE,
    answer_cue_optimizer,
    compiled,
    cued_answer,
    first_row,
    on_fake_server,
    project,
    question_of,
)
from optim_task import responder, train_args

from adf.cli.main import main
from adf.llm.client import LiteLLMClient
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeServer, Request, last_user, system_text


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "helps answer the question" in system:  # keep the second attempt of every hop
        return "true" if "(attempt 1)" in text else "false"
    if "Say whether the passages" in system:
        return "false"
    if "Write one short search query" in system:
        question = question_of(text)
        tries = text.split("Queries tried:", 1)[1].count("\n") - 1
        return f"{question} hop-{tries // 2 + 1}"
    return cued_answer(text, system)


respond = responder(answer_cue_optimizer, answer)


def test_each_hop_retries_until_kept_and_the_hops_stop_when_enough(tmp_path: Path) -> None:
    plan = compiled(tmp_path / "proj", "hotpotqa_nested")
    judged: list[str] = []

    def second_hop_suffices(request: Request) -> str | object:
        if "Say whether the passages contain every fact" in system_text(request):
            judged.append(last_user(request))  # one sample: its hops come one after another
            return "true" if len(judged) == 2 else "false"
        return respond(request)

    with FakeServer(second_hop_suffices) as server:  # type: ignore[arg-type]
        bound = on_fake_server(plan, server.base_url)
        samples = first_row(answer="not it")
        client = LiteLLMClient()
        result = asyncio.run(evaluate(bound, samples, client, base_dir=str(tmp_path / "proj")))
        forward = server.request_count
        grads = asyncio.run(backward(bound, result, client))
    (sample,) = result.samples
    status = {t.node: t.status for t in sample.nodes}
    ran = sorted(node for node, s in status.items() if s == "ok" and node.startswith("query@"))
    assert ran == ["query@0.0", "query@0.1", "query@1.0", "query@1.1"]
    assert status["query@0.2"] == status["query@1.2"] == "untaken"
    assert status["query@2.0"] == status["enough@2"] == "untaken"  # stopped after hop 1
    assert forward == 4 * 2 + 2 + 1  # (query, keep) per attempt, enough per hop, the answer
    index = {n.id: i for i, n in enumerate(bound.nodes)}
    queries = [f for f in grads.feedback if f.param == "query_instruction"]
    assert {f.node for f in queries} <= {"query@0.0", "query@0.1", "query@1.0", "query@1.1"}
    assert [index[f.node] for f in queries] == sorted(index[f.node] for f in queries)
    assert {f.param for f in grads.feedback} >= {"answer_instruction", "stop_instruction"}


def test_hotpotqa_nested_example_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = project(tmp_path / "proj", "hotpotqa_nested")
    with FakeServer(respond) as server:
        code = main(train_args(str(source), server.base_url, str(tmp_path)))
    assert code == 0
    lock = json.loads((tmp_path / "proj" / "hotpotqa_nested.adf.lock").read_text())
    assert ANSWER_CUE in lock["params"]["answer_instruction"]["value"]
