"""Diagnostics -> text: rustc-style for people, JSON for tools.

Takes diagnostics and the sources they point into (file name -> text);
gives a string, or its pieces one diagnostic at a time (`human_blocks`,
`json_chunks`: what `adfc check` writes as it goes). The human form shows
the code, the message, the location, the source lines with carets under the
primary span and dashes under the secondary spans, each with its label,
then `= note:` and `= help:` lines:

    error[E0102]: undefined name `qestion`
      --> examples/x.adf:12:20
       |
    12 | node reply = solve(qestion)
       |                    ^^^^^^^ no value named `qestion`
       |
       = help: did you mean `question`?

Colour (ANSI) is optional. Tabs are expanded and wide (CJK, emoji) and
zero-width (combining) characters measured, so carets line up, and very
long lines are cut around the span.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from adf.diagnostics import Diagnostic, Label, Severity

_COLORS = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "note": "\x1b[1;36m",
    "blue": "\x1b[1;34m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"
_MAX_LINE = 160


def render_human(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], color: bool = False
) -> str:
    return "\n".join(human_blocks(diagnostics, sources, color))


def human_blocks(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], color: bool = False
) -> Iterator[str]:
    """`render_human` one diagnostic at a time, for printing a long list without
    holding all of its text."""
    split: dict[str, list[str]] = {}  # each source split once: linear in the diagnostics

    def lines_of(file: str) -> list[str]:
        if file not in split:
            source = sources.get(file, "")
            split[file] = source.split("\n") if source else []
        return split[file]

    for d in diagnostics:
        yield _render_one(d, lines_of(d.file), color)


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    """A closing line such as `2 errors, 1 warning`; empty when there is nothing."""
    diags = list(diagnostics)
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diags if d.severity is Severity.WARNING)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def json_chunks(diagnostics: Iterable[Diagnostic]) -> Iterator[str]:
    """The diagnostics as a JSON list (indent 2), one diagnostic at a time (written as it
    comes, a large file's thousands of records are never all held as text or as dicts)."""
    return json_list((_as_dict(d) for d in diagnostics), 0)


def json_list(items: Iterable[object], level: int) -> Iterator[str]:
    """The text `json.dumps` (indent 2, `ensure_ascii=False`) gives a list of `items`
    nested `level` lists or objects deep, one item at a time: the same characters,
    without the whole list, its dicts or its text in memory at once."""
    import json

    inner = "\n" + "  " * (level + 1)
    first = True
    for item in items:
        # a JSON text's only line breaks are its indentation (strings escape theirs)
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", inner)
        yield ("[" if first else ",") + inner + text
        first = False
    yield "[]" if first else "\n" + "  " * level + "]"


def _as_dict(d: Diagnostic) -> dict[str, object]:
    def label(lab: Label) -> dict[str, object]:
        s = lab.span
        return {
            "line": s.line,
            "col": s.col,
            "end_line": s.end_line,
            "end_col": s.end_col,
            "message": lab.message,
        }

    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "file": d.file,
        "primary": label(d.primary),
        "secondary": [label(s) for s in d.secondary],
        "notes": list(d.notes),
        "help": d.help,
    }


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color else text


def _render_one(d: Diagnostic, src_lines: list[str], color: bool) -> str:
    level = d.severity.value
    lines_out = [
        _paint(f"{level}[{d.code}]", level, color) + _paint(f": {d.message}", "bold", color)
    ]
    span = d.primary.span
    labels: list[tuple[Label, bool]] = [(d.primary, True)] + [(s, False) for s in d.secondary]
    shown_lines = sorted(
        {lab.span.line for lab, _ in labels if 1 <= lab.span.line <= len(src_lines)}
    )
    width = len(str(max(shown_lines))) if shown_lines else 1
    pad = " " * width
    lines_out.append(f"{pad}{_paint('-->', 'blue', color)} {d.file}:{span.line}:{span.col}")
    if shown_lines:
        bar = _paint("|", "blue", color)
        lines_out.append(f"{pad} {bar}")
        previous = None
        for number in shown_lines:
            if previous is not None and number > previous + 1:
                lines_out.append(_paint("...", "blue", color))
            previous = number
            text = src_lines[number - 1].replace("\t", "    ")
            raw = src_lines[number - 1]
            on_line = [(lab, primary) for lab, primary in labels if lab.span.line == number]
            start_cut = 0
            if len(text) > _MAX_LINE:
                first_col = min(_display_col(raw, lab.span.col) for lab, _ in on_line)
                start_cut = max(0, first_col - 40)
                text = (
                    ("..." if start_cut else "") + text[start_cut : start_cut + _MAX_LINE] + "..."
                )
            lines_out.append(f"{_paint(str(number).rjust(width), 'blue', color)} {bar} {text}")
            for lab, primary in sorted(on_line, key=lambda item: (not item[1], item[0].span.col)):
                col = _display_col(raw, lab.span.col)
                if lab.span.end_line == lab.span.line:
                    end = _display_col(raw, lab.span.end_col)
                else:
                    end = len(text) + 1 + start_cut
                length = max(1, end - col)
                offset = col - 1 - start_cut + (3 if start_cut else 0)
                if offset < 0 or offset > _MAX_LINE + 3:
                    offset = 0
                    length = min(length, _MAX_LINE)
                marker = ("^" if primary else "-") * min(length, _MAX_LINE)
                style = level if primary else "blue"
                message = f" {lab.message}" if lab.message else ""
                lines_out.append(
                    f"{pad} {bar} {' ' * offset}{_paint(marker + message, style, color)}"
                )
        if d.notes or d.help:
            lines_out.append(f"{pad} {bar}")
    for note in d.notes:
        lines_out.append(f"{pad} = {_paint('note', 'bold', color)}: {note}")
    if d.help:
        lines_out.append(f"{pad} = {_paint('help', 'bold', color)}: {d.help}")
    return "\n".join(lines_out) + "\n"


def _display_col(raw: str, col: int) -> int:
    """The 1-based display column of character column `col`: tabs count 4, East Asian
    wide and full-width characters (CJK, most emoji) 2, combining marks and zero-width
    characters 0, so carets line up under what a terminal shows."""
    prefix = raw[: max(col - 1, 0)]
    if prefix.isascii() and "\t" not in prefix:  # the usual line: one column a character
        return len(prefix) + 1 + max(0, col - 1 - len(raw))
    return sum(_width(c) for c in prefix) + 1 + max(0, col - 1 - len(raw))


def _width(char: str) -> int:
    if char == "\t":
        return 4
    if char.isascii():
        return 1
    import unicodedata

    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
