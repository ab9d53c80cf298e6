"""Fixtures for model-access tests (helpers live in `llm_helpers`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_helpers import Recorder


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Any]:
    made: list[Recorder] = []

    def make(**kwargs: Any) -> Recorder:
        rec = Recorder(tmp_path, **kwargs)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.cache.close()
