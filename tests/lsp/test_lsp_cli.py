"""`adfc lsp` without its packages says what to install instead of failing."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import pytest


def test_without_pygls_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adf.cli.main import main

    real_import = builtins.__import__

    def no_pygls(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pygls"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    for module in [m for m in sys.modules if m.startswith(("adf.lsp", "pygls"))]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_pygls)
    assert main(["lsp"]) == 2
    assert "pip install 'adf[lsp]'" in capsys.readouterr().err
