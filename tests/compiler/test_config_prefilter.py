"""`load_lint_config` skips parsing a pyproject.toml that cannot configure adf."""

from __future__ import annotations

import pathlib
import tomllib

import pytest

from adf.analysis.config import _may_configure_adf, load_lint_config

REPO = pathlib.Path(__file__).resolve().parents[2]

CASES = [
    ('[tool.adf]\ndisable = ["W0501"]\n', True),
    ('[tool . "adf" . lint]\nmax-unrolled-nodes = 10\n', True),
    ("tool.adf.disable = []\n", True),
    ("[tool]\nadf = {disable = []}\n", True),
    ('[tool]\n"adf".disable = []\n', True),
    ("tool = {adf = {disable = []}}\n", True),
    ('[project]\nname = "adf"\n[project.scripts]\nadfc = "adf.cli.main:main"\n', False),
    ('[tool.ruff]\nsrc = ["src/adf"]\n', False),
]


@pytest.mark.parametrize(("text", "may"), CASES)
def test_prefilter_never_skips_a_tool_adf_table(text: str, may: bool) -> None:
    assert _may_configure_adf(text) is may
    assert ("adf" in tomllib.loads(text).get("tool", {})) is may  # the cases are exact


def test_the_repository_pyproject_is_skipped() -> None:
    assert not _may_configure_adf((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_a_skipped_file_gives_the_defaults(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "adf-demo"\n[tool.ruff]\n')
    config, problems = load_lint_config(str(tmp_path))
    assert problems == () and config.disable == frozenset() and config.path == str(tmp_path / "pyproject.toml")


def test_a_configured_file_is_still_read(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.adf]\ndisable = ["W0504"]\n')
    config, problems = load_lint_config(str(tmp_path))
    assert problems == () and config.disable == frozenset({"W0504"})
