"""A small HotpotQA project for the example tests: scripted rows, the example's
corpus and retriever, and a copy of one of the HotpotQA example programs."""

from __future__ import annotations

import shutil
from pathlib import Path

from optim_task import current_value, write_splits

from adf.compiler.pipeline import compile_file
from adf.plan.schema import Plan
from adf.records import replace
from adf.runtime.data import Sample
from adf.testing.fake_server import Request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROWS = [("Which river flows through Paris?", "Paris"), ("Name the capital city Berlin?", "Berlin"),
        ("Who wrote about Hamlet?", "Hamlet"), ("Which team plays in Chicago?", "Chicago")]


def project(folder: Path, example: str) -> Path:
    """`folder` holding train/val/test splits of `ROWS`, the corpus, `retrieval.py` and
    `examples/EXAMPLE/EXAMPLE.adf`; gives the path of the copied program."""
    source_dir = EXAMPLES / example
    data = write_splits(str(folder / "data"), [{"question": q, "answer": a} for q, a in ROWS])
    Path(data, "corpus.jsonl").symlink_to((source_dir / "data" / "corpus.jsonl").resolve())
    shutil.copy((source_dir / "retrieval.py").resolve(), folder / "retrieval.py")
    source = folder / f"{example}.adf"
    source.write_text((source_dir / f"{example}.adf").read_text(encoding="utf-8"), encoding="utf-8")
    return source


def compiled(folder: Path, example: str) -> Plan:
    """The plan of `example` copied into the project `folder` (see `project`)."""
    plan = compile_file(str(project(folder, example))).plan
    assert plan is not None
    return plan


def on_fake_server(plan: Plan, base_url: str) -> Plan:
    """`plan` with its models sent to the fake server at `base_url`, at temperature 0."""
    options = (("api_base", base_url), ("temperature", 0))
    return replace(plan, models=tuple(replace(m, model="openai/fake", options=options) for m in plan.models))


def first_row(answer: str = ROWS[0][1]) -> list[Sample]:
    """The first of `ROWS` as the one sample of an evaluation (its answer replaceable)."""
    return [Sample("s0", (("question", ROWS[0][0]),), (("answer", answer),))]


# The answer step of the loop examples (hotpotqa_until, hotpotqa_nested): the
# scripted model answers with the question's last word only once the answer
# instruction carries ANSWER_CUE, which the scripted optimizer adds.
ANSWER_CUE = "Copy the last word of the question."


def question_of(text: str) -> str:
    """The `Question: ...` line of a prompt."""
    return text.split("Question: ", 1)[1].split("\n", 1)[0]


def cued_answer(text: str, system: str) -> str:
    return question_of(text).rstrip("?").split()[-1] if ANSWER_CUE in system else "unknown"


def answer_cue_optimizer(request: Request) -> str:
    current = current_value(request)
    cued = "Answer the question using only" in current and ANSWER_CUE not in current
    value = f"{current} {ANSWER_CUE}" if cued else current
    return f"<reasoning>The answer is the last word.</reasoning>\n<proposed_value>{value}</proposed_value>"
