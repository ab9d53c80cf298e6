"""Helpers for driving the real `adfc lsp` server with pytest-lsp's client."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))

SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "adf.cli.main", "lsp"],
    server_env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
)


async def start(client: LanguageClient, root: pathlib.Path = REPO) -> None:
    """Initialize the session as VS Code would, answering the server's dynamic
    registrations (kept in `client.adf_registered`) as an editor does."""
    registered: list[types.Registration] = []
    client.adf_registered = registered  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registered.extend(params.registrations)

    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            initialization_options={"debounceMs": 5},
        )
    )


def _record_versions(client: LanguageClient) -> dict[str, int | None]:
    """Wrap the client's publishDiagnostics handler to remember each file's version
    (and, in `client.adf_published`, every (uri, version) published)."""
    versions: dict[str, int | None] | None = getattr(client, "adf_versions", None)
    if versions is not None:
        return versions
    table: dict[str, int | None] = {}
    log: list[tuple[str, int | None]] = []
    features = client.protocol.fm.features
    method = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
    inner = features[method]

    def handler(params: types.PublishDiagnosticsParams) -> None:
        table[params.uri] = params.version
        log.append((params.uri, params.version))
        inner(params)

    client.adf_published = log  # type: ignore[attr-defined]

    features[method] = handler
    client.adf_versions = table  # type: ignore[attr-defined]
    return table


class Doc:
    """One open document: edits bump its version; `diagnostics()` waits for the newest."""

    def __init__(self, client: LanguageClient, path: pathlib.Path, text: str | None = None):
        self.client = client
        self.path = path
        self.uri = path.as_uri()
        self.text = path.read_text(encoding="utf-8") if text is None else text
        self.version = 1
        self.versions = _record_versions(client)
        client.diagnostics.pop(self.uri, None)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(self.uri, "adf", self.version, self.text)
            )
        )

    def replace(self, text: str) -> None:
        self.version += 1
        self.text = text
        self.client.diagnostics.pop(self.uri, None)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )

    def close(self) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(self.uri))
        )

    async def diagnostics(self, timeout: float = 30.0) -> list[types.Diagnostic]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.uri not in self.client.diagnostics or self.versions.get(self.uri) not in (
            self.version,
            None,
        ):
            if loop.time() > deadline:
                raise AssertionError(f"no diagnostics published for {self.path.name}")
            await asyncio.sleep(0.005)
        return list(self.client.diagnostics[self.uri])

    def position(self, needle: str, occurrence: int = 0, offset: int = 0) -> types.Position:
        """The position of the `occurrence`-th `needle` in the text, plus `offset` characters."""
        index = -1
        for _ in range(occurrence + 1):
            index = self.text.index(needle, index + 1)
        index += offset
        line = self.text.count("\n", 0, index)
        col = index - (self.text.rfind("\n", 0, index) + 1)
        return types.Position(line, col)

    def ident(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(self.uri)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text: UTF-16 units are characters) back to front."""
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text
