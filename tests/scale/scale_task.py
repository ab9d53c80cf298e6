"""A small project for executor tests: a counting workflow whose `py` helper can kill its worker.

`make_project(folder, base_url, rows)` writes `count.adf`, `helpers.py` (next to
the source, so Ray ships it) and `data.jsonl`. The model answers "Answer: N"
with N the number of words after the colon; `helpers:tidy` strips the reply,
and when the file named by `ADF_TEST_KILL_MARK` does not exist yet and the
sample's text names `KILL`, it creates the file and kills its own process
(a worker dying mid-shard, once).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.testing.fake_server import Request, last_user

SOURCE = '''model m = "openai/fake" {{ api_base: "{base}", temperature: 0 }}
input question: str
target answer: int

llm solve(question: str) -> str using m {{
  system: "Count the words after the colon."
  user: "Question: {{question}}"
}}
fn tidy(text: str) -> str = py "helpers:tidy"
fn last_int(text: str) -> int = std.parse.last_int

node reply = solve(question)
node clean = tidy(reply)
node pred = last_int(clean)
loss acc = std.loss.exact_match(pred, answer)
output pred
'''

HELPERS = '''import os


def tidy(text: str) -> str:
    mark = os.environ.get("ADF_TEST_KILL_MARK")
    if mark and "KILL" in text and not os.path.exists(mark):
        open(mark, "w").close()
        os._exit(1)
    return text.strip()
'''


def answer(request: Request) -> str:
    """Right for most questions, one too many when the question has 'odd' in it; a question
    naming KILL gets a reply naming it too (for `helpers:tidy`)."""
    question = last_user(request)
    words = question.rsplit(":", 1)[-1].split()
    kill = " KILL" if "KILL" in question else ""
    return f"Answer: {len(words) + (1 if 'odd' in question else 0)}{kill}"


def rows(count: int, *, kill_at: int | None = None) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        words = ["w"] * (1 + i % 5) + (["odd"] if i % 7 == 3 else [])
        if i == kill_at:
            words.append("KILL")
        out.append({"id": f"s{i}", "question": f"q{i}: {' '.join(words)}",
                    "answer": len(words)})
    return out


def make_project(folder: Path, base_url: str, items: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "count.adf").write_text(SOURCE.format(base=base_url), encoding="utf-8")
    (folder / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items),
                                       encoding="utf-8")
    return folder / "count.adf"
