"""scripts/demo.sh trains what bench/demo_seeds.py measured, on an example that is documented."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("demo_seeds", REPO / "bench" / "demo_seeds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench_args() -> tuple[str, ...]:
    return tuple(_bench().DEMO_ARGS)


def test_demo_script_uses_the_measured_settings() -> None:
    script = (REPO / "scripts" / "demo.sh").read_text()
    args = _bench_args()
    assert len(args) % 2 == 0
    for flag, value in zip(args[::2], args[1::2], strict=True):
        assert re.search(rf"{re.escape(flag)} {re.escape(value)}\b", script), (flag, value)
    assert "--no-lock" in script


def test_demo_example_exists_with_its_readme() -> None:
    script = (REPO / "scripts" / "demo.sh").read_text()
    match = re.search(r"^EXAMPLE=(\S+)$", script, re.M)
    assert match is not None
    example = REPO / match.group(1)
    assert example.is_file()
    assert example == _bench().EXAMPLE  # the benchmark measures the example the demo trains
    assert "bench/demo_seeds.py" in (example.parent / "README.md").read_text()
