"""A scripted counting task for trainer tests, served by the fake OpenAI server.

The task model answers a question "How many fruits: apple apple apple?" with
the right count only when its system prompt holds the right cue:
- apples and pears need "COUNT CAREFULLY" (and pears fail if "ONLY" appears);
- plums need the word "plum".
So one wording ("COUNT CAREFULLY, including plums.") is provably best.

The optimizer is scripted by what it is shown (never by call order, so an
interrupted and resumed run sees the same replies):
- current value without "COUNT CAREFULLY": propose "COUNT CAREFULLY.";
- with it but without "plum": first propose "COUNT CAREFULLY. ONLY apples and
  plums matter." (wins the minibatch, loses validation: pears break), and
  once that was rejected this step, "COUNT CAREFULLY, including plums.".
The backward engine answers one JSON feedback per key it is asked for.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.diagnostics import Span
from adf.plan.schema import (
    FORMAT_VERSION,
    Binding,
    DataDecl,
    FnSpec,
    LlmSpec,
    Loss,
    ModelDecl,
    Node,
    Output,
    ParamDecl,
    Plan,
    TemplatePart,
    Training,
    Type,
)
from adf.runtime.data import Sample
from adf.testing.fake_server import FakeReply, Request, last_user, system_text

SPAN = Span(1, 1, 1, 2)
BEST = "COUNT CAREFULLY, including plums."
FIRST = "COUNT CAREFULLY."
WORSE = "COUNT CAREFULLY. ONLY apples and plums matter."
INITIAL = "Answer the question."

_KEYS = re.compile(r"exactly these keys: (.*)")
_CURRENT = re.compile(r"<current>\n(.*?)\n</current>", re.S)


def is_backward(request: Request) -> bool:
    return system_text(request).startswith("You review one step")


def is_optimizer(request: Request) -> bool:
    return system_text(request).startswith("You improve one part")


def backward_reply(request: Request) -> str:
    match = _KEYS.search(last_user(request))
    keys = [json.loads(k) for k in match.group(1).split(", ")] if match else ["instruction"]
    return json.dumps({k: f"The prompt should make the model count every {k} item." for k in keys})


def count_answer(request: Request) -> str:
    question = last_user(request)
    system = system_text(request)
    fruit = "plum" if "plum" in question else ("pear" if "pear" in question else "apple")
    words = question.rsplit(":", 1)[-1].replace("?", " ").split()
    right = len(words)
    if fruit == "plum":
        correct = "plum" in system
    else:
        correct = "COUNT CAREFULLY" in system and not ("ONLY" in system and fruit == "pear")
    return f"Answer: {right if correct else right + 1}"


def current_value(request: Request) -> str:
    """The value an optimizer request asks to improve ("" if it names none)."""
    match = _CURRENT.search(last_user(request))
    return match.group(1) if match else ""


def scripted_optimizer(request: Request) -> str:
    user = last_user(request)
    current = current_value(request)
    if "COUNT CAREFULLY" not in current:
        value = FIRST
    elif "plum" not in current:
        value = BEST if "TRIED IN THIS STEP AND REJECTED" in user else WORSE
    else:
        value = current + " Be exact."
    return f"<reasoning>The feedback says counting fails.</reasoning>\n<proposed_value>{value}</proposed_value>"


def responder(
    optimizer: Callable[[Request], str] = scripted_optimizer,
    answer: Callable[[Request], str] = count_answer,
) -> Callable[[Request], str | FakeReply]:
    def respond(request: Request) -> str | FakeReply:
        if is_backward(request):
            return backward_reply(request)
        if is_optimizer(request):
            return optimizer(request)
        return answer(request)

    return respond


def question(fruit: str, n: int) -> str:
    return f"How many fruits: {' '.join([fruit] * n)}?"


def rows(spec: Sequence[tuple[str, int]], prefix: str) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "question": question(f, n), "answer": n}
            for i, (f, n) in enumerate(spec)]


TRAIN = rows([("apple", 2), ("apple", 3), ("plum", 2), ("apple", 4), ("apple", 5),
              ("apple", 6), ("apple", 7)], "t")
VAL = rows([("apple", 2), ("apple", 3), ("pear", 2), ("pear", 3), ("pear", 4), ("pear", 5),
            ("plum", 3), ("plum", 4)], "v")
TEST = rows([("apple", 3), ("pear", 3), ("plum", 5), ("pear", 6)], "x")


def write_data(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, items in (("train", TRAIN), ("val", VAL), ("test", TEST)):
        with open(os.path.join(folder, f"{name}.jsonl"), "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item) + "\n")


def write_splits(data: str, rows: Sequence[dict[str, Any]]) -> str:
    """`data/{train,val,test}.jsonl`, each holding `rows` (an `id` added to each:
    `train0`, `val0`, ...); gives `data`."""
    os.makedirs(data, exist_ok=True)
    for split in ("train", "val", "test"):
        with open(os.path.join(data, f"{split}.jsonl"), "w", encoding="utf-8") as handle:
            for i, row in enumerate(rows):
                handle.write(json.dumps({"id": f"{split}{i}", **row}) + "\n")
    return data


def write_labelled(folder: str, items: Sequence[tuple[str, str]]) -> str:
    """`folder/data` with the same rows `{"id", "text", "label_name"}` (the SST-5
    examples' fields) in every split; the data folder's path."""
    return write_splits(os.path.join(folder, "data"), [{"text": t, "label_name": n} for t, n in items])


def train_args(source: str, base_url: str, folder: str, *, data: str | None = None,
               write: bool = False) -> list[str]:
    """`adfc train` of `source` for two steps at seed 0 on the fake server (model
    `student`), its run and cache under `folder`; `--data` when given, and
    `--write` (the trained literals into the source) when asked."""
    return ["train", source, *(["--data", data] if data is not None else []),
            "--model", "student=openai/fake", "--api-base", f"student={base_url}",
            "--steps", "2", "--seed", "0", "--out", os.path.join(folder, "run"),
            "--cache", os.path.join(folder, "c.sqlite"), "--quiet", *(["--write"] if write else [])]


ADF_SOURCE = '''# a scripted counting task
model m = "openai/fake" {{ api_base: "{base}", temperature: 0 }}
train {{ backward: m, optimizer: m }}

# the instruction the optimizer improves
param instruction: prompt "the task instruction" = "Answer the question."
param answer_format: prompt frozen = "Finish with: Answer: <integer>"

input question: str
target answer: int

llm solve(question: str) -> str using m {{
  system: [instruction, answer_format]
  user: "Question: {{question}}"
}}
fn last_int(text: str) -> int = std.parse.last_int

node reply = solve(question)   # the model's reply
node pred = last_int(reply)
loss acc = std.loss.exact_match(pred, answer)
output pred
'''


def build_plan(base_url: str, *, instruction: str = INITIAL) -> Plan:
    model = ModelDecl("m", "openai/fake", (("api_base", base_url), ("temperature", 0)), SPAN)
    params = (
        ParamDecl("instruction", "prompt", instruction, (), False, "the task instruction", None,
                  SPAN, None),
        ParamDecl("answer_format", "prompt", "Finish with: Answer: <integer>", (), True, "",
                  None, SPAN, None),
    )
    solve = Node("reply", "llm", "reply", None, None, (Binding("question", "question"),),
                 Type("str"), SPAN, llm=LlmSpec(
                     "solve", "m",
                     (TemplatePart("param", param="instruction"),
                      TemplatePart("param", param="answer_format")),
                     (TemplatePart("text", text="Question: {question}"),)))
    parse = Node("pred", "fn", "pred", None, None, (Binding("text", "reply"),), Type("int"), SPAN,
                 fn=FnSpec("last_int", "std.parse.last_int"))
    return Plan(
        FORMAT_VERSION, "count.adf", "0" * 64, (model,), params,
        (DataDecl("question", Type("str"), "question", SPAN),),
        (DataDecl("answer", Type("int"), "answer", SPAN),), (), (), (solve, parse),
        (Loss("acc", "std.loss.exact_match", "pred", "answer", (), SPAN),),
        (Output("pred", "pred", SPAN),), Training("m", "m", None),
    )


def samples(items: Sequence[dict[str, Any]]) -> tuple[Sample, ...]:
    return tuple(Sample(r["id"], (("question", r["question"]),), (("answer", r["answer"]),))
                 for r in items)
