"""The TextMate grammar: every example has a token snapshot, the snapshots match, and the
grammar knows every keyword of the language's grammar."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))
EXTENSION = REPO / "editors" / "vscode"
SNAPSHOTS = EXTENSION / "test" / "snapshots"
GRAMMAR = EXTENSION / "syntaxes" / "adf.tmLanguage.json"


def test_every_example_has_a_grammar_snapshot() -> None:
    assert EXAMPLES
    missing = [p.name for p in EXAMPLES if not (SNAPSHOTS / f"{p.name}.snap").is_file()]
    assert not missing, f"run scripts/test_grammar.sh -u for {missing}"
    cases = sorted((EXTENSION / "test" / "cases").glob("*.adf"))
    assert cases and all((SNAPSHOTS / f"{p.name}.snap").is_file() for p in cases)


def test_the_grammar_highlights_every_keyword() -> None:
    lark = (REPO / "src" / "adf" / "syntax" / "adf.lark").read_text(encoding="utf-8")
    keywords = set(re.findall(r'"([a-z]+)"', lark))
    assert {"model", "llm", "loop", "frozen"} <= keywords
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    patterns = json.dumps(grammar["repository"])
    missing = sorted(k for k in keywords if not re.search(rf"[(|]{k}[)|]", patterns))
    assert not missing, f"keywords the TextMate grammar does not know: {missing}"


def test_the_extension_declares_the_grammar_and_the_server() -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".adf"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert (EXTENSION / grammar["path"]).resolve() == GRAMMAR
    assert json.loads(GRAMMAR.read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    command = manifest["contributes"]["configuration"]["properties"]["adf.server.command"]
    assert command["default"] == ["adfc", "lsp"]


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are not installed: the grammar snapshot tests need vscode-tmgrammar-test",
)
def test_grammar_snapshots_match() -> None:
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "test_grammar.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.stdout.count("run successfully") == len(EXAMPLES) + len(
        list((EXTENSION / "test" / "cases").glob("*.adf"))
    )
