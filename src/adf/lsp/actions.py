"""Quick fixes for the suggestions diagnostics already carry.

Takes a diagnostic and the source text; gives `Fix`es, each a title and
text edits:
- a `did you mean `x`?` help replaces the span with `x`;
- a missing call argument (E0204) is added by name before the call's `)`;
- a warning can be silenced with an `# adf: allow CODE` comment on the line
  above (the form `adf.analysis.suppress` reads), unless that line sits
  inside a multi-line string.
Pure: edits are spans of the text plus replacement strings.
"""

from __future__ import annotations

import re

import attrs

from adf.analysis.suppress import find_suppressions
from adf.diagnostics import Diagnostic, Span
from adf.lsp.lexemes import starts_inside_string

_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
_MISSING = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)` is missing the argument `([A-Za-z_][A-Za-z0-9_]*)`$")


@attrs.frozen
class Edit:
    span: Span
    text: str


@attrs.frozen
class Fix:
    title: str
    edits: tuple[Edit, ...]
    preferred: bool = False


def fixes(diagnostic: Diagnostic, source: str) -> list[Fix]:
    found: list[Fix] = []
    span = diagnostic.primary.span
    lines = source.split("\n")
    suggestion = _DID_YOU_MEAN.search(diagnostic.help)
    if suggestion is not None and span.line == span.end_line:
        name = suggestion.group(1)
        found.append(Fix(f"replace with `{name}`", (Edit(span, name),), preferred=True))
    missing = _MISSING.match(diagnostic.message)
    if diagnostic.code == "E0204" and missing is not None:
        fix = _add_argument(missing.group(2), span, lines)
        if fix is not None:
            found.append(fix)
    if not diagnostic.is_error:
        fix = _allow(diagnostic.code, span.line, source, lines)
        if fix is not None:
            found.append(fix)
    return found


def _add_argument(name: str, span: Span, lines: list[str]) -> Fix | None:
    """Insert `name: name` before the `)` that ends the call at `span`."""
    if span.end_line > len(lines):
        return None
    end_text = lines[span.end_line - 1]
    close = span.end_col - 2  # 0-based index of the call's last character
    if close < 0 or close >= len(end_text) or end_text[close] != ")":
        return None
    before = _text_before(lines, span.end_line, close)
    opened = before.rstrip().endswith("(")
    trailing_comma = before.rstrip().endswith(",")
    text = f"{name}: {name}" if opened else f" {name}: {name}" if trailing_comma else f", {name}: {name}"
    at = Span(span.end_line, close + 1, span.end_line, close + 1)
    return Fix(f"add the argument `{name}`", (Edit(at, text),), preferred=True)


def _text_before(lines: list[str], line: int, index: int) -> str:
    text = lines[line - 1][:index]
    row = line - 1
    while not text.strip() and row > 0:
        row -= 1
        text = lines[row]
    return text


def _allow(code: str, line: int, source: str, lines: list[str]) -> Fix | None:
    """`# adf: allow CODE` above `line`, or the code added to a comment already there."""
    if line > len(lines) or starts_inside_string(source, line):
        return None
    for suppression in find_suppressions(source):
        if not suppression.whole_file and line in suppression.lines:
            comment = suppression.span
            at = Span(comment.end_line, comment.end_col, comment.end_line, comment.end_col)
            return Fix(f"allow {code} here (add it to the comment)", (Edit(at, f", {code}"),))
    target = lines[line - 1]
    indent = target[: len(target) - len(target.lstrip())]
    at = Span(line, 1, line, 1)
    return Fix(f"allow {code} on this line", (Edit(at, f"{indent}# adf: allow {code}\n"),))
