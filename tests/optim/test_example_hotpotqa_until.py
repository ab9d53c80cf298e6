"""The early-exit HotpotQA example trains on the fake server, and its hop loop
stops at the first hop whose passages the scripted model calls sufficient."""

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
from adf.runtime.engine import evaluate
from adf.testing.fake_server import FakeServer, Request, last_user, system_text


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "Say whether the passages" in system:
        return "true"
    if "Write one short search query" in system:
        return question_of(text)
    return cued_answer(text, system)


respond = responder(answer_cue_optimizer, answer)


def test_the_hop_loop_stops_early(tmp_path: Path) -> None:
    plan = compiled(tmp_path / "proj", "hotpotqa_until")
    with FakeServer(respond) as server:
        bound = on_fake_server(plan, server.base_url)
        samples = first_row()
        result = asyncio.run(evaluate(bound, samples, LiteLLMClient(), base_dir=str(tmp_path / "proj")))
    (sample,) = result.samples
    status = {t.node: t.status for t in sample.nodes}
    assert status["query@0"] == "ok" and status["enough@0"] == "ok"
    assert status["query@1"] == "untaken" and status["query@2"] == "untaken"
    assert server.request_count == 3  # one hop (query, enough) and the answer


def test_hotpotqa_until_example_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = project(tmp_path / "proj", "hotpotqa_until")
    with FakeServer(respond) as server:
        code = main(train_args(str(source), server.base_url, str(tmp_path)))
    assert code == 0
    lock = json.loads((tmp_path / "proj" / "hotpotqa_until.adf.lock").read_text())
    assert ANSWER_CUE in lock["params"]["answer_instruction"]["value"]
