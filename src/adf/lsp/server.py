"""`adfc lsp`: the language server, over stdio, built on pygls.

Takes LSP messages; gives diagnostics as the user types, hover, go to
definition, references, highlights, rename, completion, document symbols,
formatting, folding, semantic tokens and quick fixes.

Diagnostics are debounced: changes that arrive while a check waits or runs
are folded into one check of the newest text, and a version that is already
outdated when its check ends is not published. The wait after a change is
the `debounceMs` initialization option (default 20 ms) but never longer than
the document's last check took: waiting only pays when it saves a check that
costs more than the wait. A file brought in with `use` is read from the
editor when it is open there: a change to it (typed, saved, opened or
closed, or, for a file not open, changed on disk as the client's file
watcher reports) checks again every open document that uses it, directly or
through other files. Each feature is a thin handler: the work is done by the pure
modules beside this one (`analysis`, `index`, `hover`, `completion`,
`outline`, `actions`) on the cached `Analysis` of the document's text.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import traceback

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from adf import __version__
from adf.diagnostics import Span
from adf.lsp import outline as shapes
from adf.lsp.actions import fixes
from adf.lsp.analysis import Analyses, Analysis, Semantics
from adf.lsp.completion import KEYWORDS, complete
from adf.lsp.convert import Positions, code_action, diagnostic, path_to_uri
from adf.lsp.crossfile import used_files
from adf.lsp.hover import hover_text, std_hover, used_hover
from adf.lsp.index import Index, Occurrence
from adf.syntax.fmt import format_source

DEBOUNCE_S = 0.02
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPLETION_KIND = {
    "keyword": types.CompletionItemKind.Keyword,
    "type": types.CompletionItemKind.TypeParameter,
    "function": types.CompletionItemKind.Function,
    "variable": types.CompletionItemKind.Variable,
    "field": types.CompletionItemKind.Field,
    "module": types.CompletionItemKind.Module,
    "argument": types.CompletionItemKind.Variable,
}
_SYMBOL_KIND = {
    "model": types.SymbolKind.Class,
    "param": types.SymbolKind.Property,
    "input": types.SymbolKind.Field,
    "target": types.SymbolKind.Field,
    "llm": types.SymbolKind.Function,
    "fn": types.SymbolKind.Function,
    "node": types.SymbolKind.Variable,
    "state": types.SymbolKind.Variable,
    "loopvar": types.SymbolKind.Namespace,
    "loss": types.SymbolKind.Event,
    "arg": types.SymbolKind.Variable,
    "const": types.SymbolKind.Constant,
    "item": types.SymbolKind.Variable,
    "use": types.SymbolKind.Module,
}


class AdfServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("adf", __version__)
        self.analyses = Analyses(size=8)
        self.debounce = DEBOUNCE_S
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.cost: dict[str, float] = {}  # seconds the last check of each document took
        self.published_elsewhere: dict[str, set[str]] = {}
        self.uses: dict[str, frozenset[str]] = {}  # uri -> real paths of the files it uses
        self.changed: dict[str, int] = {}  # uri -> how often a file it uses changed

    # --- documents ------------------------------------------------------------
    def document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def analysis(self, uri: str) -> tuple[Analysis, Positions]:
        doc = self.document(uri)
        text = doc.source
        return self.analyses.get(_path(uri), text, self.open_files()), Positions(
            text, doc.position_codec)

    def open_files(self) -> dict[str, str]:
        """The editor's text of each open document, by real path."""
        return {os.path.realpath(_path(uri)): str(doc.source)
                for uri, doc in self.workspace.text_documents.items()}

    def read(self, path: str) -> str | None:
        """A file's text: the editor's when it is open, else the disk's (None if unreadable)."""
        from adf.compiler.source import SourceReadError, read_source_bytes

        text = self.open_files().get(os.path.realpath(path))
        if text is not None:
            return text
        try:
            return read_source_bytes(path).decode("utf-8").removeprefix("\ufeff")
        except (SourceReadError, UnicodeDecodeError):
            return None

    def semantics_at(
        self, uri: str, position: types.Position
    ) -> tuple[Analysis, Positions, Semantics, Occurrence] | None:
        analysis, positions = self.analysis(uri)
        semantics = analysis.semantics
        if semantics is None:
            return None
        line, col = positions.span_at(position)
        occurrence = semantics.index.at(line, col)
        if occurrence is None:
            return None
        return analysis, positions, semantics, occurrence

    # --- diagnostics ----------------------------------------------------------
    def schedule(self, uri: str, delay: float) -> None:
        """Check `uri` after `delay`, but never wait longer than its last check took:
        waiting only pays when it saves a check that costs more than the wait."""
        task = self.pending.get(uri)
        if task is not None and not task.done():
            return  # the waiting check reads the newest text when it runs
        delay = min(delay, self.cost.get(uri, delay))
        self.pending[uri] = asyncio.ensure_future(self._check_later(uri, delay))

    async def _check_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        while uri in self.workspace.text_documents:
            doc = self.document(uri)
            version, changed = doc.version, self.changed.get(uri, 0)
            start = time.perf_counter()
            try:
                analysis, _ = self.analysis(uri)  # the check itself
                program = analysis.program
                self.uses[uri] = (used_files(program, _path(uri), self.read)
                                  if program is not None else frozenset())
            except Exception:  # a bug in adf: say so, and keep serving
                self.window_log_message(
                    types.LogMessageParams(
                        types.MessageType.Error,
                        f"adf: internal error while checking {uri} (a bug in adf, please "
                        f"report it):\n{traceback.format_exc()}",
                    )
                )
                return
            self.cost[uri] = time.perf_counter() - start
            await asyncio.sleep(0)  # let changes that arrived meanwhile be applied
            if uri not in self.workspace.text_documents:
                return
            if self.document(uri).version == version and self.changed.get(uri, 0) == changed:
                self.publish(uri, doc)  # cached: publishing costs a conversion only
                return

    def check_users(self, path: str, delay: float) -> None:
        """Check again the open documents that use the file at `path`, directly or through
        other files: it changed (in the editor or on disk), or it was opened or closed."""
        wanted = os.path.realpath(path)
        for uri, used in list(self.uses.items()):
            if wanted in used and uri in self.workspace.text_documents:
                self.analyses.refresh(_path(uri))
                self.changed[uri] = self.changed.get(uri, 0) + 1
                self.schedule(uri, delay)

    def publish(self, uri: str, doc: TextDocument) -> None:
        analysis, positions = self.analysis(uri)
        path = _path(uri)
        own = [diagnostic(d, positions, uri) for d in analysis.diagnostics if d.file == path]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=own, version=doc.version)
        )
        self._publish_elsewhere(uri, analysis)

    def _publish_elsewhere(self, uri: str, analysis: Analysis) -> None:
        """Problems in another file (the pyproject.toml that configures this one, a file
        reached through `use`) go to that file, placed in its text on disk; but never to
        a file open in the editor, which publishes its own from its own buffer."""
        by_file: dict[str, list[types.Diagnostic]] = {}
        for d in analysis.diagnostics:
            if d.file != analysis.path and not self.is_open(d.file):
                try:
                    with open(d.file, encoding="utf-8") as handle:
                        text = handle.read()
                except (OSError, UnicodeDecodeError):
                    continue
                other = path_to_uri(d.file)
                positions = Positions(text, self.document(uri).position_codec)
                by_file.setdefault(other, []).append(diagnostic(d, positions, other))
        stale = self.published_elsewhere.get(uri, set()) - set(by_file)
        for other in stale:
            if not self.is_open(_path(other)):
                by_file[other] = []
        for other, found in by_file.items():
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(other, found))
        self.published_elsewhere[uri] = {u for u, f in by_file.items() if f}

    def close(self, uri: str) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.analyses.forget(_path(uri))
        self.cost.pop(uri, None)
        self.uses.pop(uri, None)
        self.changed.pop(uri, None)
        for other in self.published_elsewhere.pop(uri, set()):
            if not self.is_open(_path(other)):  # an open file's diagnostics are its own
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(other, []))
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    def is_open(self, path: str) -> bool:
        """Whether the file at `path` is a document open in the editor."""
        wanted = os.path.normcase(os.path.normpath(path))
        return any(os.path.normcase(os.path.normpath(_path(u))) == wanted
                   for u in self.workspace.text_documents)


def _path(uri: str) -> str:
    return to_fs_path(uri) or uri if uri.startswith("file:") else uri


server = AdfServer()


@server.feature(types.INITIALIZE)
def initialize(ls: AdfServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounceMs"), int | float):
        ls.debounce = max(0.0, float(options["debounceMs"]) / 1000)


@server.feature(types.INITIALIZED)
def initialized(ls: AdfServer, params: types.InitializedParams) -> None:
    """Ask the client to report changes to `.adf` files on disk, when it can watch files:
    a file that open documents use may change outside the editor."""
    workspace = ls.client_capabilities.workspace
    watching = workspace.did_change_watched_files if workspace is not None else None
    if watching is None or not watching.dynamic_registration:
        return
    ls.client_register_capability(types.RegistrationParams([types.Registration(
        "adf-watch-sources", types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        types.DidChangeWatchedFilesRegistrationOptions(
            [types.FileSystemWatcher(glob_pattern="**/*.adf")]),
    )]))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: AdfServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0.0)
    ls.check_users(_path(params.text_document.uri), 0.0)  # now read from the editor


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: AdfServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, ls.debounce)
    ls.check_users(_path(params.text_document.uri), ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: AdfServer, params: types.DidSaveTextDocumentParams) -> None:
    # the Python modules of `py "..."` functions may have changed since the last check
    ls.analyses.refresh(_path(params.text_document.uri))
    ls.schedule(params.text_document.uri, 0.0)
    ls.check_users(_path(params.text_document.uri), 0.0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: AdfServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.close(params.text_document.uri)
    ls.check_users(_path(params.text_document.uri), 0.0)  # now read from the disk


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: AdfServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        path = _path(change.uri)
        if path.endswith(".adf") and not ls.is_open(path):  # an open file is read from the editor
            ls.check_users(path, 0.0)


# --- navigation -----------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: AdfServer, params: types.HoverParams) -> types.Hover | None:
    analysis, positions = ls.analysis(params.text_document.uri)
    semantics = analysis.semantics
    if semantics is None:
        return None
    line, col = positions.span_at(params.position)
    occurrence = semantics.index.at(line, col)
    found = (
        std_hover(semantics.program, line, col)
        if occurrence is None
        else (hover_text(analysis, semantics, occurrence) or used_hover(analysis, semantics,
                                                                        occurrence),
              occurrence.span)
    )
    if found is None or found[0] is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(types.MarkupKind.Markdown, found[0]),
        range=positions.range(found[1]),
    )


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: AdfServer, params: types.DefinitionParams) -> types.Location | None:
    found = ls.semantics_at(params.text_document.uri, params.position)
    if found is None:
        return None
    _, positions, semantics, occurrence = found
    target = semantics.index.definitions.get(occurrence.key)
    if target is None and "." in occurrence.name:  # `r.name(...)`: declared in a used file
        from adf.lsp.crossfile import used_declaration

        used = used_declaration(semantics.program, _path(params.text_document.uri),
                                occurrence.name)
        if used is None:
            return None
        return _elsewhere(used.path, used.decl.name.span)
    if target is not None and target.kind == "use" and not occurrence.is_definition:
        from adf.lsp.crossfile import used_workflow  # `r(...)`: the used file's output

        workflow = used_workflow(semantics.program, _path(params.text_document.uri),
                                 occurrence.name)
        if workflow is not None:
            return _elsewhere(workflow.path, workflow.output.span)
    if target is None:
        return None
    return types.Location(params.text_document.uri, positions.range(target.span))


def _elsewhere(path: str, span: Span) -> types.Location:
    """Where `span` is in another file: a name or `output NAME`, ASCII on one line, so its
    columns are its positions (the file's text is not needed to convert them)."""
    start = types.Position(span.line - 1, span.col - 1)
    end = types.Position(span.end_line - 1, span.end_col - 1)
    return types.Location(path_to_uri(path), types.Range(start, end))


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: AdfServer, params: types.ReferenceParams) -> list[types.Location]:
    found = ls.semantics_at(params.text_document.uri, params.position)
    if found is None:
        return []
    _, positions, semantics, occurrence = found
    uri = params.text_document.uri
    return [
        types.Location(uri, positions.range(o.span))
        for o in semantics.index.references(occurrence.key)
        if params.context.include_declaration or not o.is_definition
    ]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
def highlight(ls: AdfServer, params: types.DocumentHighlightParams) -> list[types.DocumentHighlight]:
    found = ls.semantics_at(params.text_document.uri, params.position)
    if found is None:
        return []
    _, positions, semantics, occurrence = found
    return [
        types.DocumentHighlight(
            positions.range(o.span),
            types.DocumentHighlightKind.Write if o.is_definition else types.DocumentHighlightKind.Read,
        )
        for o in semantics.index.references(occurrence.key)
    ]


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: AdfServer, params: types.PrepareRenameParams) -> types.Range | None:
    found = ls.semantics_at(params.text_document.uri, params.position)
    if found is None:
        return None
    _, positions, semantics, occurrence = found
    refusal = _cannot_rename(semantics.index, occurrence)
    if refusal is not None:
        raise JsonRpcInvalidParams(refusal)
    return positions.range(occurrence.span)


def _cannot_rename(index: Index, occurrence: Occurrence) -> str | None:
    """Why this name cannot be renamed, or None when it can."""
    owner, name = occurrence.key
    if occurrence.key not in index.definitions:
        return f"`{name}` is not declared in this file"
    if occurrence.kind == "use":
        return f"`{name}` names a used file; rename it at its `use` and at each `{name}.` call"
    function = index.definitions.get(("", owner))
    if function is not None and function.kind == "fn":
        return (
            f"the arguments of `fn {owner}` are passed by name to the function it binds; "
            "rename the parameter there, then here"
        )
    return None


@server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
def rename(ls: AdfServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    found = ls.semantics_at(params.text_document.uri, params.position)
    if found is None:
        return None
    _, positions, semantics, occurrence = found
    index = semantics.index
    new = params.new_name
    if not _NAME.fullmatch(new) or new in KEYWORDS:
        raise JsonRpcInvalidParams(f"`{new}` is not a valid name")
    refusal = _cannot_rename(index, occurrence)
    if refusal is not None:
        raise JsonRpcInvalidParams(refusal)
    if (occurrence.key[0], new) in index.definitions and new != occurrence.name:
        raise JsonRpcInvalidParams(f"`{new}` is already declared")
    edits = [types.TextEdit(positions.range(o.span), new) for o in index.references(occurrence.key)]
    return types.WorkspaceEdit(changes={params.text_document.uri: edits})


# --- editing --------------------------------------------------------------------


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=["{", ".", "(", ","]),
)
def completion(ls: AdfServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    doc = ls.document(uri)
    positions = Positions(doc.source, doc.position_codec)
    line, col = positions.span_at(params.position)
    semantics = ls.analyses.semantics(_path(uri), doc.source, ls.open_files())
    items = []
    for candidate in complete(doc.source, line, col, semantics):
        edit = None
        if candidate.replace:
            start = positions.position(line, col - candidate.replace)
            edit = types.TextEdit(types.Range(start, params.position), candidate.insert or candidate.label)
        items.append(
            types.CompletionItem(
                label=candidate.label,
                kind=_COMPLETION_KIND[candidate.kind],
                detail=candidate.detail or None,
                documentation=candidate.documentation or None,
                insert_text=None if edit else candidate.insert,
                text_edit=edit,
            )
        )
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: AdfServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    doc = ls.document(params.text_document.uri)
    text = doc.source
    formatted, _ = format_source(text, _path(params.text_document.uri))
    if formatted is None or formatted == text:
        return None if formatted is None else []
    positions = Positions(text, doc.position_codec)
    lines = positions.lines
    end = positions.position(len(lines), len(lines[-1]) + 1)
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_actions(ls: AdfServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    analysis, positions = ls.analysis(uri)
    start = positions.span_at(params.range.start)
    end = positions.span_at(params.range.end)
    actions = []
    for d in analysis.diagnostics:
        span = d.primary.span
        if d.file != analysis.path or (span.end_line, span.end_col) < start or (span.line, span.col) > end:
            continue
        about = diagnostic(d, positions, uri)
        actions += [code_action(f, positions, uri, about) for f in fixes(d, analysis.text)]
    return actions


# --- shape ----------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(ls: AdfServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    analysis, positions = ls.analysis(params.text_document.uri)
    semantics = analysis.semantics
    if semantics is None:
        return []

    def convert(entry: shapes.Outline) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=entry.name,
            kind=_SYMBOL_KIND[entry.kind],
            range=positions.range(entry.span),
            selection_range=positions.range(entry.name_span),
            detail=entry.detail or None,
            children=[convert(c) for c in entry.children] or None,
        )

    return [convert(entry) for entry in shapes.outline(semantics.program)]


@server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
def folding(ls: AdfServer, params: types.FoldingRangeParams) -> list[types.FoldingRange]:
    analysis, _ = ls.analysis(params.text_document.uri)
    semantics = analysis.semantics
    if semantics is None:
        return []
    kinds = {"region": types.FoldingRangeKind.Region, "comment": types.FoldingRangeKind.Comment}
    return [
        types.FoldingRange(start_line=f.start - 1, end_line=f.end - 1, kind=kinds[f.kind])
        for f in shapes.folds(semantics.program, analysis.text)
    ]


@server.feature(
    types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
    types.SemanticTokensLegend(
        token_types=list(shapes.TOKEN_TYPES), token_modifiers=list(shapes.TOKEN_MODIFIERS)
    ),
)
def semantic_tokens(ls: AdfServer, params: types.SemanticTokensParams) -> types.SemanticTokens:
    analysis, positions = ls.analysis(params.text_document.uri)
    semantics = analysis.semantics
    if semantics is None:
        return types.SemanticTokens(data=[])
    data: list[int] = []
    previous_line, previous_start = 0, 0
    for token in shapes.tokens(semantics.index, semantics.program):
        start = positions.position(token.line, token.col)
        end = positions.position(token.line, token.col + token.length)
        delta_line = start.line - previous_line
        delta_start = start.character - previous_start if delta_line == 0 else start.character
        data += [delta_line, delta_start, end.character - start.character, token.type, token.modifiers]
        previous_line, previous_start = start.line, start.character
    return types.SemanticTokens(data=data)


class _OneLine(logging.Filter):
    """pygls logs a malformed message from the editor with its traceback; keep the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]}"
            record.args = None
            record.exc_info = None
        return True


def serve() -> None:
    for name in ("pygls.io_", "pygls.protocol.json_rpc", "pygls.server"):
        logging.getLogger(name).addFilter(_OneLine())
    server.start_io()
