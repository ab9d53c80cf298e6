"""The server never runs user code, and counts columns in UTF-16 as LSP clients do."""

from __future__ import annotations

import pathlib

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .lsp_client import Doc

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_opening_a_file_never_imports_its_python_functions(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "tools.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n\ndef shout(text: str) -> str:\n    return text.upper()\n",
        encoding="utf-8",
    )
    source = (
        'input q: str\nfn shout(text: str) -> str = py "tools:shout"\n'
        "node a = shout(q)\noutput a\n"
    )
    doc = Doc(client, tmp_path / "safe.adf", source)
    assert [d.code for d in await doc.diagnostics()] == []  # the signature was read and checked
    await client.text_document_hover_async(
        types.HoverParams(text_document=doc.ident(), position=doc.position("shout(q)"))
    )
    assert not marker.exists()
    doc.close()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_columns_are_utf16_code_units(client: LanguageClient, tmp_path: pathlib.Path) -> None:
    prefix = 'node b = "é😀 " + '
    source = f'input q: str\n{prefix}qq\noutput b\n'
    doc = Doc(client, tmp_path / "wide.adf", source)
    (error,) = await doc.diagnostics()
    assert error.code == "E0102"
    assert error.range.start == types.Position(1, utf16(prefix))
    assert error.range.end == types.Position(1, utf16(prefix) + 2)
    doc.replace(source.replace("+ qq", "+ q"))
    assert await doc.diagnostics() == []
    target = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc.ident(), position=types.Position(1, utf16(prefix))
        )
    )
    assert isinstance(target, types.Location)
    assert target.range.start == types.Position(0, 6)
    doc.close()


async def test_saving_rechecks_the_python_functions_a_file_names(
    client: LanguageClient, tmp_path: pathlib.Path
) -> None:
    source = 'input q: str\nfn shout(text: str) -> str = py "helpers:shout"\nnode a = shout(q)\noutput a\n'
    doc = Doc(client, tmp_path / "saved.adf", source)
    assert {d.code for d in await doc.diagnostics()} == {"W0401"}  # no helpers.py yet
    (tmp_path / "helpers.py").write_text(
        "def shout(text: str) -> str:\n    return text.upper()\n", encoding="utf-8"
    )
    client.diagnostics.pop(doc.uri)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc.ident()))
    assert await doc.diagnostics() == []
    doc.close()
