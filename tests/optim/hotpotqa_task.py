"""A small HotpotQA project for the example tests: scripted rows, the example's
corpus and retriever, and a copy of one of the HotpotQA example programs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROWS = [("Which river flows through Paris?", "Paris"), ("Name the capital city Berlin?", "Berlin"),
        ("Who wrote about Hamlet?", "Hamlet"), ("Which team plays in Chicago?", "Chicago")]


def project(folder: Path, example: str) -> Path:
    """`folder` holding train/val/test splits of `ROWS`, the corpus, `retrieval.py` and
    `examples/EXAMPLE/EXAMPLE.adf`; gives the path of the copied program."""
    source_dir = EXAMPLES / example
    data = folder / "data"
    data.mkdir(parents=True)
    (data / "corpus.jsonl").symlink_to((source_dir / "data" / "corpus.jsonl").resolve())
    for split in ("train", "val", "test"):
        with (data / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for i, (question, answer) in enumerate(ROWS):
                handle.write(json.dumps({"id": f"{split}{i}", "question": question,
                                         "answer": answer}) + "\n")
    shutil.copy((source_dir / "retrieval.py").resolve(), folder / "retrieval.py")
    source = folder / f"{example}.adf"
    source.write_text((source_dir / f"{example}.adf").read_text(encoding="utf-8"), encoding="utf-8")
    return source
