"""Forecasts and context checks read each llm's own options (`using m(name: value)`),
not only its model's: `adfc cost`, `adfc train --dry-run` and W0601."""

from __future__ import annotations

from pathlib import Path

import pytest

from adf.analysis.cost import estimate_cost
from adf.cli.main import main
from adf.compiler.pipeline import compile_source

SOURCE = """\
model m = "openai/gpt-4o-mini" {{ max_tokens: 256 }}
input q: str
target a: str
param p: prompt = "Answer in one word."
llm ask(q: str) -> str using m{using} {{ system: [p] user: "{{q}}" }}
node r = ask(q)
loss l = std.loss.exact_match(r, a)
output r
"""


def replies(using: str) -> tuple[int, int]:
    plan = compile_source(SOURCE.format(using=using), "t.adf").plan
    assert plan is not None
    estimate = estimate_cost(plan)
    node = next(n for n in estimate.nodes if n.node_id == "r")
    return node.forward.completion_tokens, estimate.tokens_high


def test_a_per_call_max_tokens_changes_the_forecast() -> None:
    # the reply is scored against `a` (a str, 64 tokens with no data), at most the cap
    assert replies("")[0] == 64
    assert replies("(max_tokens: 10)")[0] == 10
    assert replies("(temperature: 0.9)") == replies("")  # other options leave the cap alone
    # the range's top counts replies at the cap
    assert replies("(max_tokens: 10)")[1] < replies("")[1] < replies("(max_tokens: 1000)")[1]


def test_train_dry_run_forecast_follows_the_per_call_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "val", "test"):
        # a 50-token target: the reply scored against it is expected as long, at most the cap
        (data / f"{split}.jsonl").write_text('{"q": "x", "a": "%s"}\n' % ("y" * 200),
                                             encoding="utf-8")
    tokens = []
    for using in ("", "(max_tokens: 10)"):
        source = tmp_path / "t.adf"
        source.write_text(SOURCE.format(using=using), encoding="utf-8")
        assert main(["train", str(source), "--data", str(data), "--dry-run"]) == 0
        out = capsys.readouterr().out
        tokens.append(int(next(line for line in out.splitlines() if line.strip().startswith("forward"))
                          .split()[-2]))
    assert tokens[1] < tokens[0]


def test_a_per_call_context_is_the_window_the_check_uses() -> None:
    def codes(using: str) -> set[str]:
        from adf.analysis.config import LintConfig
        from adf.analysis.lint import run_lints

        plan = compile_source(SOURCE.format(using=using), "t.adf").plan
        assert plan is not None
        return {d.code for d in run_lints(plan, "t.adf", LintConfig())}

    assert "W0601" not in codes("")
    assert "W0601" in codes("(context: 40)")
