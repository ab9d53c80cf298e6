"""What selective backward saves: model calls and tokens per training step.

A fixed small training run (a scripted counting task on the fake OpenAI
server: 16 train, 8 validation samples, 4 steps, batch 4, 2 proposals a
step, seed 0) is trained twice in the same process:

- selective (adf's default): backward calls only for the failing samples
  drawn from the pool;
- naive: a backward pass for every sample of the batch, passing or not
  (what a trainer without selective gradients does).

The scripted task model answers small counts right from the start, needs
the cue "COUNT CAREFULLY" for counts from 5 to 8 and never gets 9 or more
right, so batches keep mixing passing and failing samples. The optimizer
proposes the cue, then a variant that does not help (rejected by the gate). Both runs see the same
replies, so the difference is the backward pass. Printed: per step, the
calls, backward calls and tokens of each variant; totals; and the ratios
naive / selective.

Run: `python bench/train_cost.py`
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.compiler.pipeline import compile_source
from adf.llm.client import LiteLLMClient
from adf.optim.trainer import Splits, Trainer
from adf.plan.settings import TrainSettings
from adf.runtime.bindings import bind
from adf.runtime.data import Sample
from adf.testing.fake_server import FakeServer, Request, last_user, system_text

SOURCE = '''model m = "openai/fake" {{ api_base: "{base}", temperature: 0, max_tokens: 64 }}
train {{ backward: m, optimizer: m }}
param instruction: prompt "the task instruction" = "Answer the question."
param answer_format: prompt frozen = "Finish with: Answer: <integer>"
input question: str
target answer: int
llm solve(question: str) -> str using m {{
  system: [instruction, answer_format]
  user: "Question: {{question}}"
}}
fn last_int(text: str) -> int = std.parse.last_int
node reply = solve(question)
node pred = last_int(reply)
loss acc = std.loss.exact_match(pred, answer)
output pred
'''

_KEYS = re.compile(r"exactly these keys: (.*)")


def respond(request: Request) -> str:
    system, user = system_text(request), last_user(request)
    if system.startswith("You review one step"):
        match = _KEYS.search(user)
        keys = [json.loads(k) for k in match.group(1).split(", ")] if match else ["instruction"]
        return json.dumps({k: "Count every item one by one before answering." for k in keys})
    if system.startswith("You improve one part"):
        value = "COUNT CAREFULLY, one item at a time."
        if "COUNT CAREFULLY" in user.split("</current>")[0]:
            value = "COUNT CAREFULLY, one item at a time, and check the total twice."
        return f"<reasoning>Large counts fail.</reasoning>\n<proposed_value>{value}</proposed_value>"
    count = len(user.rsplit(":", 1)[-1].replace("?", " ").split())
    right = count <= 4 or ("COUNT CAREFULLY" in system and count < 9)
    return f"I counted them. Answer: {count if right else count + 2}"


def samples(prefix: str, counts: list[int]) -> tuple[Sample, ...]:
    return tuple(
        Sample(f"{prefix}{i}", (("question", "How many: " + " ".join(["pen"] * n) + "?"),),
               (("answer", n),))
        for i, n in enumerate(counts)
    )


async def train(base: str, folder: str, backward_all: bool) -> dict[str, Any]:
    result = compile_source(SOURCE.format(base=base), "count.adf")
    assert result.plan is not None, result.diagnostics
    plan = result.plan
    splits = Splits(samples("t", [2, 6, 3, 9, 1, 5, 4, 10, 2, 6, 3, 9, 1, 7, 11, 5]),
                    samples("v", [2, 5, 3, 6, 4, 7, 1, 8]), ())
    settings = TrainSettings(steps=4, batch_size=4, proposals=2, seed=0,
                             backward_all=backward_all)
    trainer = Trainer(plan, splits, LiteLLMClient(), settings, folder, bind(plan),
                      plan_hash="bench")
    outcome = await trainer.run()
    return outcome.report


def step_rows(report: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [(s["step_calls"], s.get("backward_calls", 0), s["step_tokens"]) for s in report["steps"]]


def main() -> int:
    with FakeServer(respond) as server, tempfile.TemporaryDirectory() as tmp:
        selective = asyncio.run(train(server.base_url, os.path.join(tmp, "sel"), False))
        naive = asyncio.run(train(server.base_url, os.path.join(tmp, "naive"), True))
    print("fixed run: 16 train / 8 val samples, 4 steps, batch 4, 2 proposals, seed 0 (fake server)")
    print(f"{'step':>4} | {'selective calls':>15} {'backward':>8} {'tokens':>7} | "
          f"{'naive calls':>11} {'backward':>8} {'tokens':>7}")
    for number, (a, b) in enumerate(zip(step_rows(selective), step_rows(naive), strict=True), 1):
        print(f"{number:>4} | {a[0]:>15} {a[1]:>8} {a[2]:>7} | {b[0]:>11} {b[1]:>8} {b[2]:>7}")
    sel, nai = selective["usage"], naive["usage"]
    sel_bwd = sel["by_purpose"]["backward"]
    nai_bwd = nai["by_purpose"]["backward"]

    def tokens(c: dict[str, Any]) -> int:
        return int(c["prompt_tokens"] + c["completion_tokens"])

    print(f"total (incl. validation/test scoring): selective {sel['calls']} calls, "
          f"{sel['tokens']} tokens; naive {nai['calls']} calls, {nai['tokens']} tokens")
    print(f"backward only: selective {sel_bwd['calls']} calls, {tokens(sel_bwd)} tokens; "
          f"naive {nai_bwd['calls']} calls, {tokens(nai_bwd)} tokens")
    print(f"ratios naive/selective: all calls {nai['calls'] / sel['calls']:.2f}x, "
          f"all tokens {nai['tokens'] / sel['tokens']:.2f}x, "
          f"backward calls {nai_bwd['calls'] / max(1, sel_bwd['calls']):.2f}x, "
          f"backward tokens {tokens(nai_bwd) / max(1, tokens(sel_bwd)):.2f}x")
    same = selective["params"] == naive["params"]
    print(f"final scores: selective val {selective['scores']['val_after']:.3f}, "
          f"naive val {naive['scores']['val_after']:.3f}; same final prompt: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
