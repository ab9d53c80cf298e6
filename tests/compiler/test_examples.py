"""Every example checks clean and compiles; its data files are in place."""

from __future__ import annotations

import json
import pathlib

import pytest

from adf.compiler.pipeline import compile_file
from adf.plan.codec import decode_plan, encode_plan

from .conftest import EXAMPLES


def test_there_are_examples() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {
        "object_counting",
        "trec",
        "gsm8k",
        "hotpotqa",
        "agent",
        "word_sorting",
        "sst5",
        "sst2",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_is_clean(path: pathlib.Path) -> None:
    result = compile_file(str(path))
    assert [(d.code, d.message) for d in result.diagnostics] == []
    assert result.plan is not None
    assert decode_plan(encode_plan(result.plan)) == result.plan


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_data_has_the_declared_fields(path: pathlib.Path) -> None:
    plan = compile_file(str(path)).plan
    assert plan is not None
    for split in ("train", "val", "test"):
        rows = (path.parent / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert rows, split
        first = json.loads(rows[0])
        for decl in (*plan.inputs, *plan.targets):
            assert decl.field in first, (split, decl.field)
