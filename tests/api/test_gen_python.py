"""`adfc gen python`: the generated client makes mypy --strict check the calling code."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_helpers import answer, workflow_copy

import adf
from adf.cli.main import main
from adf.testing.fake_server import FakeServer

GOOD = '''
from triage_client import Client, Inputs, Outputs


def route(client: Client) -> str:
    out: Outputs = client(ticket={"title": "slow query", "tags": ["sql"]}, priority="high")
    rows: list[Inputs] = [{"ticket": {"title": "css", "tags": []}, "priority": "low"}]
    later = client.batch(rows)
    first = later[0]
    assert first is not None
    return out.pred["team"] + "/" + first.pred["team"] + "/" + str(out.pred["score"] + 1)
'''

BAD = '''
from triage_client import Client


def route(client: Client) -> int:
    client(ticket={"title": 3, "tags": []}, priority="high")
    client(ticket={"title": "x", "tags": [], "owner": "me"}, priority="urgent")
    return client(ticket={"title": "x", "tags": []}, priority="low").pred["team"]
'''


def mypy(folder: Path, file: str) -> subprocess.CompletedProcess[str]:
    """mypy --strict on `file`, with adf's sources on its path and the project's settings."""
    src = Path(adf.__file__).parents[1]
    env = {**os.environ, "MYPYPATH": str(src)}
    config = src.parent / "pyproject.toml"
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "--config-file", str(config), file],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


def test_generated_client_is_checked_by_mypy_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    source = workflow_copy(tmp_path / "flows")
    out = tmp_path / "app" / "triage_client.py"
    out.parent.mkdir()
    assert main(["gen", "python", str(source), "-o", str(out)]) == 0
    text = out.read_text()
    assert "class Ticket(TypedDict):" in text and "priority: Literal['low', 'high']" in text
    assert "team: Literal['web', 'db']" in text and "tags: list[str]" in text
    assert "'../flows/triage.adf'" in text  # found relative to the module, wherever it runs
    (out.parent / "good.py").write_text(GOOD)
    (out.parent / "bad.py").write_text(BAD)
    good = mypy(out.parent, "good.py")
    assert good.returncode == 0, good.stdout
    bad = mypy(out.parent, "bad.py")
    assert bad.returncode == 1
    errors = [line for line in bad.stdout.splitlines() if ": error:" in line]
    assert any("bad.py:6:" in e and '"title"' in e and '"int"' in e for e in errors), errors
    assert any("bad.py:7:" in e and '"owner"' in e for e in errors), errors
    assert any("bad.py:7:" in e and "Literal['urgent']" in e for e in errors), errors
    assert any("bad.py:8:" in e and "Incompatible return value" in e for e in errors), errors
    monkeypatch.syspath_prepend(str(out.parent))
    with FakeServer(answer) as server:
        monkeypatch.setenv("ADF_API_BASE_M", server.base_url)
        monkeypatch.chdir(tmp_path)
        caller = importlib.import_module("good")
        client = importlib.import_module("triage_client").Client(cache=False)
        assert caller.route(client).startswith("db/web/")


def test_gen_prints_without_output_and_reports_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    source = workflow_copy(tmp_path)
    assert main(["gen", "python", str(source)]) == 0
    assert "class Client:" in capsys.readouterr().out
    assert main(["gen", "python", str(tmp_path / "missing.adf")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["gen", "rust", str(source)]) == 2
