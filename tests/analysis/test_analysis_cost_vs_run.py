"""The static call counts match what the runtime actually sends to a (fake) model."""

from __future__ import annotations

import asyncio
import json
import os
import re

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.analysis.cost import estimate_cost
from adf.compiler.pipeline import compile_source
from adf.llm.accounting import Accounting
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.runtime.data import Sample
from adf.runtime.engine import backward, evaluate
from adf.testing.fake_server import FakeServer, Request, last_user

PROGRAM = """model student = "openai/fake" {{ api_base: "{base}", max_tokens: 32 }}
train {{ backward: student, optimizer: student }}
param instruction: prompt = "Answer with a number."
param hop_prompt: prompt = "Ask a follow-up question."
param style: prompt frozen = "Be brief."
input question: str
target answer: int
llm solve(question: str, notes: list[str]) -> str using student {{
  system: [instruction]
  user: "Question: {{question}} Notes: {{notes}}"
}}
llm follow(question: str) -> str using student {{
  system: [hop_prompt]
  user: "{{question}}"
}}
llm aside(question: str) -> str using student {{
  system: [style]
  user: "{{question}}"
}}
fn last_int(text: str) -> int = std.parse.last_int
fn append(items: list[str], item: str) -> list[str] = std.op.append
state notes: list[str] = []
loop hop in 0..3 {{
  node q = follow(question)
  notes = append(notes, q)
}}
node reply = solve(question, notes)
node pred = last_int(reply)
node unused = aside(question)
loss acc = std.loss.exact_match(pred, answer)
output pred
"""

_KEYS = re.compile(r"exactly these keys: (.*)")


def respond(request: Request) -> str:
    keys = _KEYS.search(last_user(request))
    if keys is None:
        return "The answer is 0. Answer: 0"  # always wrong: every sample fails
    return json.dumps({json.loads(k): "be more careful" for k in keys.group(1).split(", ")})


def test_forward_and_backward_calls_match_the_estimate() -> None:
    samples = [Sample(f"s{i}", (("question", f"How many {i}?"),), (("answer", i + 1),)) for i in range(3)]
    accounting = Accounting()
    client = LiteLLMClient(retry=RetryPolicy(max_retries=2, base_s=0.01, max_delay_s=0.05),
                           timeout_s=60.0, sinks=[accounting])
    with FakeServer(respond) as server:
        result = compile_source(PROGRAM.format(base=server.base_url), "flow.adf")
        assert result.plan is not None, result.diagnostics
        plan = result.plan
        estimate = estimate_cost(plan)
        evaluated = asyncio.run(evaluate(plan, samples, client, concurrency=1))
        forward_requests = server.request_count
        feedback = asyncio.run(backward(plan, evaluated, client, concurrency=1))
        backward_requests = server.request_count - forward_requests
    assert estimate.forward.calls == 5  # 3 loop steps + solve + the dead aside
    assert forward_requests == len(samples) * estimate.forward.calls
    assert accounting.by_purpose["forward"].requests == forward_requests
    assert all(s.score == 0.0 for s in evaluated.samples)
    # every sample fails its only loss: the estimate per failed sample is exact
    # solve and the three `follow` steps (not the frozen aside), and the blame split at
    # `append` steps 1 and 2, whose two inputs (the notes so far, the new note) are both trained
    assert estimate.backward.calls == 6
    assert feedback.calls == backward_requests == len(samples) * estimate.backward.calls
