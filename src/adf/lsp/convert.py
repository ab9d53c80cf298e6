"""From the compiler's records to LSP types, and LSP positions back to spans.

Takes spans (1-based lines, 1-based end-exclusive columns counting
characters), diagnostics and fixes; gives `lsprotocol` values in the
position encoding agreed with the client (UTF-16 unless the client offers
another), through pygls's position codec. A diagnostic keeps its code, its
labelled secondary spans (as related information), its notes and help (as
lines after the message), and links its code to the `adfc explain` page.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from adf.compiler.codes import PAGES
from adf.diagnostics import Diagnostic, Severity, Span
from adf.lsp.actions import Fix

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


class Positions:
    """Converts between spans of one text and LSP positions in the client's encoding."""

    def __init__(self, text: str, codec: PositionCodec):
        self.lines: Sequence[str] = text.split("\n")
        self.codec = codec

    def position(self, line: int, col: int) -> types.Position:
        if line > len(self.lines):
            return types.Position(len(self.lines) - 1, len(self.lines[-1]))
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(line - 1, col - 1))

    def range(self, span: Span) -> types.Range:
        return types.Range(self.position(span.line, span.col), self.position(span.end_line, span.end_col))

    def span_at(self, position: types.Position) -> tuple[int, int]:
        """The 1-based (line, column) of an LSP position."""
        server = self.codec.position_from_client_units(
            self.lines, types.Position(position.line, position.character)
        )
        return server.line + 1, server.character + 1


def path_to_uri(path: str) -> str:
    from pygls.uris import from_fs_path

    return from_fs_path(path) or path


def explain_uri(code: str) -> str | None:
    page = os.path.join(PAGES, f"{code}.md")
    return path_to_uri(page) if os.path.isfile(page) else None


def diagnostic(d: Diagnostic, positions: Positions, uri: str) -> types.Diagnostic:
    lines = [d.message, *(f"note: {n}" for n in d.notes)]
    if d.help:
        lines.append(f"help: {d.help}")
    if d.primary.message:
        lines.insert(1, d.primary.message)
    href = explain_uri(d.code)
    related = [
        types.DiagnosticRelatedInformation(
            types.Location(uri, positions.range(label.span)), label.message or "see here"
        )
        for label in d.secondary
    ]
    return types.Diagnostic(
        range=positions.range(d.primary.span),
        message="\n".join(lines),
        severity=_SEVERITY[d.severity],
        code=d.code,
        code_description=types.CodeDescription(href) if href else None,
        source="adf",
        related_information=related or None,
        data={"code": d.code, "line": d.primary.span.line, "col": d.primary.span.col},
    )


def code_action(fix: Fix, positions: Positions, uri: str, about: types.Diagnostic | None) -> types.CodeAction:
    edits = [types.TextEdit(positions.range(e.span), e.text) for e in fix.edits]
    return types.CodeAction(
        title=fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[about] if about is not None else None,
        is_preferred=fix.preferred or None,
        edit=types.WorkspaceEdit(changes={uri: edits}),
    )
