"""`adfc check` starts cold in a fresh interpreter: what it imports is what it pays for.

The figure itself (≤ 6x `python -c pass` is the goal) is a benchmark,
`bench/check_startup.py`; these tests guard the imports that made it worse: the
runtime, litellm and the other heavy packages, the cost model, and lint modules
whose codes are all switched off.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

from adf.analysis.lint import LINT_CODES
from adf.cli.main import terminal_columns

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "gsm8k" / "gsm8k.adf"

# Never on the check path: each of these once was, or would cost a multiple of a bare start.
HEAVY = (
    "attr",  # the check path's records are generated ahead of time (adf.records)
    "attrs",
    "shutil",  # argparse's help formatter imports it; adfc's measures the terminal with os
    "lark",
    "litellm",
    "msgpack",
    "rich",
    "asyncio",
    "subprocess",
    "pathlib",
    "traceback",
    "adf.runtime",
    "adf.optim",
    "adf.workflow",
    "adf.llm.protocol",
    "adf.llm.usage",
    "adf.llm.client",
    "adf.analysis.cost",
)


def imported_by_check(*args: str, cwd: pathlib.Path = ROOT) -> set[str]:
    """The modules a fresh interpreter holds after `adfc check ARGS`."""
    code = (
        "import contextlib, io, json, sys\n"
        "from adf.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main(['check', *{list(args)!r}])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd
    )
    return set(json.loads(done.stdout))


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_check_imports_nothing_heavy() -> None:
    modules = imported_by_check(str(EXAMPLE))
    assert "adf.analysis.lint" in modules  # the lints did run
    assert [name for name in HEAVY if loaded(modules, name)] == []


def test_lint_modules_load_only_when_their_codes_are_on(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.adf]\ndisable = ["W0511", "W0512", "W06"]\n', encoding="utf-8"
    )
    source = tmp_path / "flow.adf"
    source.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    modules = imported_by_check(str(source), cwd=tmp_path)
    assert "adf.analysis.reachability" in modules
    off = ["adf.analysis.loopsize", "adf.analysis.context", "adf.analysis.sizes", "adf.llm"]
    assert [name for name in off if loaded(modules, name)] == []


def test_lint_codes_table_matches_the_modules() -> None:
    """`LINT_CODES` decides which module runs; it must name every code a module reports."""
    folder = ROOT / "src" / "adf" / "analysis"
    for name, codes in LINT_CODES.items():
        found = set(re.findall(r'code="(W\d{4})"', (folder / f"{name}.py").read_text(encoding="utf-8")))
        assert found == set(codes), name


@pytest.mark.parametrize("columns", ["123", "0", "wide", None])
def test_help_width_is_measured_as_shutil_would(columns: str | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
