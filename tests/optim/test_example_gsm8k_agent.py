"""The GSM8K tool-calling agent trains on the fake server: the scripted model
multiplies only when the calculator's description says how to write a product,
so the feedback on its tool calls must reach that (trainable) description."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from optim_task import current_value, responder, train_args, write_splits

from adf.cli.main import main
from adf.testing.fake_server import FakeReply, FakeServer, Request, last_user, tool_reply, tools_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gsm8k_agent" / "gsm8k_agent.adf"
CUE = "Write a product with *."


def act(request: Request) -> str | FakeReply:
    assert tools_of(request) == ["calculator", "final_answer"]
    calculator = request["tools"][0]["function"].get("description", "")
    text = last_user(request)
    done = re.search(r"calculator \S.* -> (-?[0-9.]+)$", text, re.M)
    if done is not None:
        return tool_reply("final_answer", answer=done.group(1))
    a, b = (int(n) for n in re.findall(r"[0-9]+", text.split("Notes so far:")[0])[:2])
    return tool_reply("calculator", expression=f"{a} * {b}" if CUE in calculator else f"{a} + {b}")


def answer(request: Request) -> str | FakeReply:
    return act(request) if request.get("tools") else "unused"


def optimizer(request: Request) -> str:
    current = current_value(request)
    value = f"{current} {CUE}" if current.startswith("Evaluate") and CUE not in current else current
    return f"<reasoning>The calculator added where a product was asked.</reasoning>\n<proposed_value>{value}</proposed_value>"


respond = responder(optimizer, answer)  # type: ignore[arg-type]

ROWS = [(3, 4), (5, 6), (7, 8), (2, 9), (6, 6), (4, 8)]


def test_gsm8k_agent_example_trains_its_tool_description(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_splits(str(tmp_path / "data"), [
        {"question": f"A box holds {a} rows of {b} eggs. How many eggs?", "answer": str(a * b)} for a, b in ROWS])
    source = tmp_path / "gsm8k_agent.adf"
    source.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    with FakeServer(respond) as server:
        code = main(train_args(str(source), server.base_url, str(tmp_path), data=data))
        tool_requests = [r for r in server.requests if r.get("tools")]
    assert code == 0
    lock = json.loads((tmp_path / "gsm8k_agent.adf.lock").read_text())
    assert CUE in lock["params"]["calculator_doc"]["value"]
    # two calls a sample at most (calculator, then final_answer): the loop exits early
    assert all(r["tools"][1]["function"]["name"] == "final_answer" for r in tool_requests)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["scores"]["test_before"] == 0.0 and report["scores"]["test_after"] == 1.0
