"""Context fitting, the gate, the pool, budgets, checkpoints, lock files, write-back, report."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from adf.compiler.pipeline import compile_source
from adf.llm.protocol import ChatReply, ChatRequest, Message
from adf.optim.budget import BudgetedClient, BudgetExceeded, Meter
from adf.optim.checkpoint import (
    CheckpointError,
    load_checkpoint,
    rng_from_json,
    rng_to_json,
    save_checkpoint,
)
from adf.optim.context import Section, fit_sections
from adf.optim.demos import DemoCandidate, propose
from adf.optim.gate import gate
from adf.optim.lockfile import apply_lock_verbose, write_lock
from adf.optim.report import deterministic_view, render_html, word_diff
from adf.optim.sampler import Pool
from adf.optim.tgd import HistoryEntry, OptimizerInput, build_prompt, group_feedback
from adf.optim.writeback import quote_prompt, rewrite_source, write_back
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Demo, Plan
from adf.plan.settings import Limits
from adf.runtime.data import Sample
from adf.runtime.feedback import Feedback

SOURCE = '''# header comment
model m = "openai/x"
param instruction: prompt "what to do" = "Answer."   # keep me
param style: prompt = """two
lines"""
param shots: demos(max: 2) = []
input question: str
target answer: str
llm solve(question: str) -> str using m {
  system: [instruction, style, shots]
  user: "{question}"
}
node reply = solve(question)
loss acc = std.loss.exact_match(reply, answer)
output reply
'''


def compiled(text: str) -> Plan:
    result = compile_source(text, "prog.adf")
    assert result.plan is not None, result.diagnostics
    return result.plan


# --- context fitting ------------------------------------------------------------


def _feedback(n: int) -> tuple[Feedback, ...]:
    return tuple(Feedback("p", f"s{i}", "solve", None, i / 10, f"feedback {i} " + "x" * 200,
                          sample_index=i) for i in range(n))


def test_long_history_is_trimmed_latest_first_and_recorded() -> None:
    history = tuple(HistoryEntry(f"version {i} " + "y" * 300, i / 10, i) for i in range(12))
    data = OptimizerInput("p", "", "current", (), _feedback(6), history, ())
    built = build_prompt(data, context_tokens=1400, reply_tokens=200, json_mode=False)
    user = built.messages[1].content
    trims = {t.section: t for t in built.trims}
    assert "history" in trims and trims["history"].kept < 12
    assert "version 11" in user and "version 0 " not in user  # the latest is kept
    assert "feedback 0" in user  # the worst sample is kept
    assert built.fits


def test_fit_is_round_robin_and_never_cuts_items() -> None:
    fit = fit_sections(10, [Section("a", ("1" * 30, "2" * 30)), Section("b", ("3" * 30,))], 40)
    assert fit.kept["a"] == ("1" * 30,) and fit.kept["b"] == ("3" * 30,)
    assert [t.section for t in fit.trims] == ["a"]
    assert not fit_sections(100, [Section("a", ("x",))], 50).fits


def test_feedback_groups_worst_first_with_time_order() -> None:
    items = [Feedback("p", "b", "q@1", 1, 0.5, "b1", node_index=2),
             Feedback("p", "a", "q@0", 0, 0.0, "a0", node_index=1),
             Feedback("p", "b", "q@0", 0, 0.5, "b0", node_index=1)]
    groups = group_feedback(items)
    assert [g[0] for g in groups] == ["a", "b"]
    assert [f.text for f in groups[1][2]] == ["b0", "b1"]


# --- gate -----------------------------------------------------------------------


def _samples(n: int) -> list[Sample]:
    return [Sample(f"s{i}", (), ()) for i in range(n)]


def test_gate_stops_early_once_it_cannot_win() -> None:
    seen: list[int] = []

    async def score(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        seen.append(len(samples))
        return [1.0 if values["p"] == "good" else 0.0 for _ in samples]

    mini = _samples(2)
    bad = asyncio.run(gate(score, {"p": "bad"}, mini, [1.0, 0.0], _samples(16), 0.5, chunk=4))
    assert not bad.accepted and "minibatch" in bad.reason and bad.val_evaluated == 0

    async def mixed(samples: Sequence[Sample], values: Mapping[str, ParamValue]) -> list[float]:
        return [1.0 if s.id in ("s0", "s1") else 0.0 for s in samples]

    early = asyncio.run(gate(mixed, {"p": "x"}, [], [], _samples(16), 0.5, chunk=4))
    assert not early.accepted and early.stopped_early and early.val_evaluated < 16
    good = asyncio.run(gate(score, {"p": "good"}, mini, [0.0, 0.0], _samples(8), 0.5))
    assert good.accepted and good.val_after == 1.0


# --- pool, demos ------------------------------------------------------------------


def test_pool_keeps_failures_and_draws_reproducibly() -> None:
    pool = Pool(cap=5).add([(f"ok{i}", 1.0) for i in range(4)] + [("e1", 0.0), ("e2", 0.5)])
    assert len(pool.entries) == 5 and {"e1", "e2"} <= {e[0] for e in pool.entries}
    a = pool.draw(random.Random(1), 2, 2)
    b = Pool.from_json(json.loads(json.dumps(pool.to_json()))).draw(random.Random(1), 2, 2)
    assert a == b and a[0] == ["e1", "e2"] and len(a[1]) == 2
    assert pool.cleared().entries == ()


def test_demo_proposals_prefer_weight_and_differ_from_current() -> None:
    cands = [DemoCandidate(f"s{i}", Demo((("q", str(i)), ("answer", "a"))), w, "trace")
             for i, w in enumerate([5.0, 0.01, 0.01, 0.01])]
    rng = random.Random(0)
    hits = sum(1 for _ in range(50) if (p := propose(rng, cands, 1, ())) and p[1] == ("s0",))
    assert hits > 35
    only = [cands[0]]
    assert propose(random.Random(0), only, 1, (cands[0].demo,)) is None


# --- budget ------------------------------------------------------------------------


class _Echo:
    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ChatRequest) -> ChatReply:
        self.calls += 1
        return ChatReply("ok", 10, 5, None, False, 0.0)


def test_budgeted_client_refuses_the_call_over_the_limit() -> None:
    inner = _Echo()
    meter = Meter(Limits(max_calls=3))
    client = BudgetedClient(inner, meter)
    request = ChatRequest("m", (Message("user", "hi"),))

    async def go() -> None:
        for _ in range(3):
            await client.complete(request)
        with pytest.raises(BudgetExceeded):
            await client.complete(request)

    asyncio.run(go())
    total = meter.total()
    assert inner.calls == 3 and (total.calls, total.requests) == (3, 3) and meter.refused == 1
    with pytest.raises(BudgetExceeded):
        Meter(Limits(max_calls=10)).reserve(11)


# --- checkpoint ------------------------------------------------------------------------


def test_checkpoint_round_trip_and_identity(tmp_path: Path) -> None:
    rng = random.Random(7)
    rng.random()
    from adf.optim.state import TrainState

    body = {**TrainState().to_json(), "rng": rng_to_json(rng), "step": 3,
            "meter": {"by_purpose": {}}}
    save_checkpoint(str(tmp_path), "abc", body)
    state = load_checkpoint(str(tmp_path), "abc")
    assert rng_from_json(state["rng"]).random() == rng.random()
    save_checkpoint(str(tmp_path), "abc", {**body, "step": -1})
    with pytest.raises(CheckpointError, match=r"damaged: state\.step: expected a whole number"):
        load_checkpoint(str(tmp_path), "abc")
    save_checkpoint(str(tmp_path), "abc", body)
    with pytest.raises(CheckpointError, match="different program"):
        load_checkpoint(str(tmp_path), "other")
    (tmp_path / "checkpoint.json").write_text("{torn")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(str(tmp_path))
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


# --- lock file -------------------------------------------------------------------------


def test_lock_applies_until_the_literal_is_edited(tmp_path: Path) -> None:
    path = tmp_path / "prog.adf"
    path.write_text(SOURCE)
    plan = compiled(SOURCE)
    demos = (Demo((("question", "2+2"), ("answer", "4"))),)
    write_lock(str(path), plan, {"instruction": "Answer briefly.", "shots": demos,
                                 "style": plan.param("style").value}, {"val_after": 1.0})
    edited_elsewhere = compiled(SOURCE.replace("# header comment", "# changed"))
    result = apply_lock_verbose(edited_elsewhere, str(path))
    assert result.plan.param("instruction").value == "Answer briefly."
    assert result.plan.param("shots").demos == demos
    edited_param = compiled(SOURCE.replace('= "Answer."', '= "Reply."'))
    result = apply_lock_verbose(edited_param, str(path))
    assert result.plan.param("instruction").value == "Reply."
    assert [name for name, _ in result.stale] == ["instruction"]


# --- write-back --------------------------------------------------------------------------


def test_write_back_keeps_everything_else(tmp_path: Path) -> None:
    path = tmp_path / "prog.adf"
    path.write_text(SOURCE)
    plan = compiled(SOURCE)
    values: dict[str, ParamValue] = {
        "instruction": 'Say "yes" or \\no\\.',
        "style": "three\nlines\nnow",
        "shots": (Demo((("question", "1+1"), ("answer", "2"))),
                  Demo((("question", "a \"q\""), ("answer", "b")))),
    }
    base = {p.name: (p.value if p.kind == "prompt" else p.demos) for p in plan.params}

    def compile_text(text: str) -> Plan | None:
        return compile_source(text, str(path)).plan

    result = write_back(str(path), values, base, compile_text)
    assert set(result.changed) == {"instruction", "style", "shots"}
    text = path.read_text()
    assert "# header comment" in text and "# keep me" in text
    assert '"""three\nlines\nnow"""' in text
    again = compiled(text)
    for name, value in values.items():
        got = again.param(name)
        assert (got.value if got.kind == "prompt" else got.demos) == value


def test_write_back_skips_a_literal_edited_since_training(tmp_path: Path) -> None:
    path = tmp_path / "prog.adf"
    path.write_text(SOURCE.replace('= "Answer."', '= "Hand edit."'))
    result = write_back(str(path), {"instruction": "New."}, {"instruction": "Answer."},
                        lambda t: compile_source(t, str(path)).plan)
    assert result.changed == () and result.skipped[0][0] == "instruction"
    assert "Hand edit." in path.read_text()


def test_quoting_choice() -> None:
    assert quote_prompt("one line") == '"one line"'
    assert quote_prompt("a\nb") == '"""a\nb"""'
    assert quote_prompt('ends with "quote"\nx"') == '"ends with \\"quote\\"\\nx\\""'
    plan = compiled(SOURCE)
    out = rewrite_source(SOURCE, plan.params, {"instruction": "x"})
    assert out == SOURCE.replace('"Answer."', '"x"')


# --- report -------------------------------------------------------------------------------


def test_report_html_is_self_contained_and_diffs() -> None:
    report = {
        "program": {"source": "p.adf"}, "status": "completed",
        "scores": {"val_before": 0.2, "val_after": 0.8, "test_before": None, "test_after": None},
        "steps": [{"step": 1, "train_score": 0.5, "val_score": 0.8, "calls": 10, "tokens": 300,
                   "proposals": [{"param": "p", "verdict": "accepted", "reason": "ok",
                                  "before": "Answer <b>.", "value": "Answer well."}]}],
        "params": {"p": {"initial": "Answer <b>.", "final": "Answer well."}},
    }
    page = render_html(report)
    assert page.count("<svg") == 3
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;b&gt;" in page and "<ins>" in page
    assert word_diff("a b c", "a x c") == [("=", "a "), ("-", "b"), ("+", "x"), ("=", " c")]
    assert deterministic_view({"wall_s": 1, "a": [{"cache_hits": 2, "b": 3}]}) == {"a": [{"b": 3}]}


def test_token_budget_stops_new_calls_once_spent() -> None:
    inner = _Echo()
    client = BudgetedClient(inner, Meter(Limits(max_tokens=30)))
    request = ChatRequest("m", (Message("user", "hi"),))

    async def go() -> None:
        await client.complete(request)
        await client.complete(request)  # 30 tokens used now
        with pytest.raises(BudgetExceeded, match="tokens"):
            await client.complete(request)

    asyncio.run(go())
    assert inner.calls == 2
