"""A language server per test module, driven over stdio like an editor would."""

from __future__ import annotations

import pytest_lsp
from pytest_lsp import LanguageClient

from .lsp_client import SERVER, start


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await start(lsp_client)
    yield
    await lsp_client.shutdown_session()
