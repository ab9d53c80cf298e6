"""Inline suppressions: `# adf: allow W0501` comments in `.adf` source.

Takes raw source text (no parser needed); gives the `Suppression`s it
holds. A comment `# adf: allow CODE[, CODE...]` silences those codes
(or prefixes, such as `W05`) for diagnostics starting on its own line, or,
when the comment stands alone on its line (possibly among other comment
lines), on the first code line below it. `# adf: allow-file CODE...`
silences them in the whole file. Strings are skipped, so a `#` inside a
prompt is never taken for a comment. Linear in the length of the source.
"""

from __future__ import annotations

import re

from adf.analysis.records import Suppression as Suppression
from adf.diagnostics import Span

_DIRECTIVE = re.compile(r"#\s*adf:\s*(allow-file|allow)\b\s*(.*)")
_CODE = re.compile(r"[A-Za-z][0-9]{1,4}")


_LEXEME = re.compile(r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*(?:"""|$)|"(?:[^"\\\n]|\\.)*"?|#[^\n]*')


def comments(source: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every `#` comment, 1-based, skipping string literals."""
    found: list[tuple[int, int, str]] = []
    line, counted = 1, 0
    for match in _LEXEME.finditer(source):
        text = match.group()
        if not text.startswith("#"):
            continue
        start = match.start()
        line += source.count("\n", counted, start)
        counted = start
        column = start - (source.rfind("\n", 0, start) + 1) + 1
        found.append((line, column, text))
    return found


def find_suppressions(source: str) -> tuple[Suppression, ...]:
    if "adf:" not in source:
        return ()
    lines = source.split("\n")
    result = []
    for line, column, text in comments(source):
        match = _DIRECTIVE.match(text)
        if match is None:
            continue
        codes = tuple(c.upper() for c in _CODE.findall(match.group(2).split("#")[0]))
        if not codes:
            continue
        span = Span(line, column, line, column + len(text))
        if match.group(1) == "allow-file":
            result.append(Suppression(codes, frozenset(), True, span))
            continue
        covered = {line}
        if lines[line - 1][: column - 1].strip() == "":
            below = line + 1
            while below <= len(lines) and _is_comment_or_blank(lines[below - 1]):
                if lines[below - 1].strip() == "":
                    break
                below += 1
            covered.add(below)
        result.append(Suppression(codes, frozenset(covered), False, span))
    return tuple(result)


def _is_comment_or_blank(text: str) -> bool:
    stripped = text.strip()
    return stripped == "" or stripped.startswith("#")
