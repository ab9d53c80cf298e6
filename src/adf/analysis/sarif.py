"""Diagnostics as SARIF 2.1.0, for code-scanning tools (GitHub, IDEs).

Takes diagnostics and the source text of each file they name; gives the
JSON text of one SARIF log with one run. The tool's rules are every code of
the registry (`adf.compiler.codes`: id, title, summary, the page as help,
the default level); each result points at its rule, its file and region
(columns count Unicode code points, end exclusive, as adf's spans do), with
a snippet of the source line, secondary labels as related locations, and
the notes and help in the message. File names are written as relative URIs
when relative, `file://` URIs when absolute.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from adf.compiler.render import json_list
from adf.diagnostics import Diagnostic, Label, Severity, Span

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


_RESULTS = "\0results\0"  # stands for the results in the log's text, written one by one


def render_sarif(diagnostics: Iterable[Diagnostic], files: Mapping[str, str]) -> str:
    return "".join(sarif_chunks(diagnostics, files))


def sarif_chunks(diagnostics: Iterable[Diagnostic], files: Mapping[str, str]) -> Iterator[str]:
    """The text of `render_sarif`, its results one at a time (a large file's thousands of
    results are never all held as dicts or as text)."""
    found = list(diagnostics)
    rules, index = _rules(found)
    artifacts = _artifacts(found)
    log = json.dumps(_log(rules, artifacts, _RESULTS), indent=2, ensure_ascii=False)
    head, _, tail = log.partition(json.dumps(_RESULTS))
    yield head
    results = _results(found, files, index, artifacts)
    yield from json_list(results, 3)  # at "runs": [{"results": here
    yield tail + "\n"


def _rules(found: list[Diagnostic]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every code's rule, and each code's position among them."""
    from adf.compiler.codes import all_codes

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for code, info in all_codes().items():
        index[code] = len(rules)
        rules.append(_rule(code, info.title, info.summary, info.severity, info.phase, info.page))
    for diagnostic in found:
        if diagnostic.code not in index:  # a code without a page: still a valid rule
            index[diagnostic.code] = len(rules)
            rules.append(_rule(diagnostic.code, diagnostic.code, "", _LEVELS[diagnostic.severity], "", ""))
    return rules, index


def _artifacts(found: list[Diagnostic]) -> dict[str, int]:
    """Each file the diagnostics name, numbered in order of appearance."""
    artifacts: dict[str, int] = {}
    for diagnostic in found:
        artifacts.setdefault(diagnostic.file, len(artifacts))
    return artifacts


def _log(rules: list[dict[str, Any]], artifacts: Iterable[str], results: object) -> dict[str, Any]:
    from adf import __version__

    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "adfc",
                "version": __version__,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "artifacts": [{"location": {"uri": to_uri(name)}, "sourceLanguage": "adf"}
                          for name in artifacts],
            "results": results,
        }],
    }


def _results(found: list[Diagnostic], files: Mapping[str, str], index: Mapping[str, int],
             artifacts: Mapping[str, int]) -> Iterator[dict[str, Any]]:
    lines: dict[str, list[str]] = {}
    for d in found:
        if d.file in files and d.file not in lines:
            lines[d.file] = files[d.file].splitlines()
        yield _result(d, index[d.code], artifacts[d.file], lines.get(d.file))


def to_uri(name: str) -> str:
    if os.path.isabs(name):
        return pathlib.Path(name).as_uri()
    return pathlib.PurePath(name).as_posix().replace(" ", "%20")


def _rule(code: str, title: str, summary: str, level: str, phase: str, page: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": code,
        "name": re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower() or code,
        "shortDescription": {"text": title},
        "defaultConfiguration": {"level": level if level in ("error", "warning", "note") else "warning"},
        "properties": {"phase": phase} if phase else {},
    }
    if summary:
        rule["fullDescription"] = {"text": summary}
    if page:
        rule["help"] = {"text": page, "markdown": page}
    return rule


def _result(diagnostic: Diagnostic, rule_index: int, artifact: int, lines: list[str] | None) -> dict[str, Any]:
    text = diagnostic.message
    extra = [f"note: {note}" for note in diagnostic.notes]
    if diagnostic.help:
        extra.append(f"help: {diagnostic.help}")
    if extra:
        text += "\n" + "\n".join(extra)
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": _LEVELS[diagnostic.severity],
        "message": {"text": text},
        "locations": [_location(diagnostic.file, artifact, diagnostic.primary, lines)],
    }
    related = [
        {**_location(diagnostic.file, artifact, label, lines), "id": number}
        for number, label in enumerate(diagnostic.secondary, start=1)
    ]
    if related:
        result["relatedLocations"] = related
    return result


def _location(file: str, artifact: int, label: Label, lines: list[str] | None) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": to_uri(file), "index": artifact},
            "region": _region(label.span, lines),
        }
    }
    if label.message:
        location["message"] = {"text": label.message}
    return location


def _region(span: Span, lines: list[str] | None) -> dict[str, Any]:
    line = max(span.line, 1)
    region: dict[str, Any] = {
        "startLine": line,
        "startColumn": max(span.col, 1),
        "endLine": max(span.end_line, line),
        "endColumn": max(span.end_col, 1),
    }
    if region["endLine"] == line and region["endColumn"] < region["startColumn"]:
        region["endColumn"] = region["startColumn"]
    if lines is not None and 0 < line <= len(lines):
        region["snippet"] = {"text": lines[line - 1]}
    return region
