"""The early-exit HotpotQA example trains on the fake server, and its hop loop
stops at the first hop whose passages the scripted model calls sufficient."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hotpotqa_task import ROWS, project
from optim_task import current_value, responder

from adf.cli.main import main
from adf.compiler.pipeline import compile_file
from adf.llm.client import LiteLLMClient
from adf.records import replace
from adf.runtime.data import Sample
from adf.runtime.engine import evaluate
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

CUE = "Copy the last word of the question."


def answer(request: Request) -> str:
    text, system = last_user(request), system_text(request)
    if "Say whether the passages" in system:
        return "true"
    if "Write one short search query" in system:
        return text.split("Question: ", 1)[1].split("\n", 1)[0]
    question = text.split("Question: ", 1)[1].split("\n", 1)[0]
    return question.rstrip("?").split()[-1] if CUE in system else "unknown"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if "Answer the question using only" in current and CUE not in current else current
    return f"<reasoning>The answer is the last word.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)




def test_the_hop_loop_stops_early(tmp_path: Path) -> None:
    source = project(tmp_path / "proj", "hotpotqa_until")
    plan = compile_file(str(source)).plan
    assert plan is not None
    with FakeServer(respond) as server:
        model = plan.models[0]
        options = (("api_base", server.base_url), ("temperature", 0))
        bound = replace(plan, models=(replace(model, model="openai/fake", options=options),))
        samples = [Sample("s0", (("question", ROWS[0][0]),), (("answer", ROWS[0][1]),))]
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
        code = main(["train", str(source), "--model", "student=openai/fake",
                     "--api-base", f"student={server.base_url}", "--steps", "2", "--seed", "0",
                     "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite"), "--quiet"])
    assert code == 0
    lock = json.loads((tmp_path / "proj" / "hotpotqa_until.adf.lock").read_text())
    assert CUE in lock["params"]["answer_instruction"]["value"]
