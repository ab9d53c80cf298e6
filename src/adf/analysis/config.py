"""Lint configuration: `[tool.adf]` in the nearest pyproject.toml.

Takes a path to start from (a file or a directory); gives a `LintConfig`
and the diagnostics about the configuration itself (W0520 an unknown code,
W0521 a malformed setting), pointing at the line of pyproject.toml they
come from.

    [tool.adf]
    disable = ["W0504"]          # never report these (codes or prefixes: "W05")
    enable = ["W05"]             # turn on lints that are off by default
    error = ["W0501"]            # report these as errors (exit status 1)

    [tool.adf.lint]
    max-unrolled-nodes = 5000    # W0511
    max-calls-per-sample = 100   # W0512
    max-tokens-per-sample = 200000

Error codes cannot be disabled: a program with errors cannot be compiled.
"""

from __future__ import annotations

import os
import re
from typing import Any

from adf.analysis.records import DEFAULT_OFF as DEFAULT_OFF
from adf.analysis.records import LintConfig as LintConfig
from adf.analysis.records import LoopLimits as LoopLimits
from adf.diagnostics import Diagnostic, Label, Severity, Span

# The documented codes are the pages' file names (`adf/docs/codes/E0102.md`):
# listing the folder is enough to validate code names, without reading pages.
_PAGES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "codes")

_CODE = re.compile(r"^[EWN][0-9]{1,4}$")
_PAGE_NAME = re.compile(r"^[EW][0-9]{4}$")
_LIMIT_KEYS = {
    "max-unrolled-nodes": "max_unrolled_nodes",
    "max-calls-per-sample": "max_calls_per_sample",
    "max-tokens-per-sample": "max_tokens_per_sample",
}


def find_pyproject(start: str) -> str | None:
    """The nearest pyproject.toml in `start`'s directory or above it."""
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        candidate = os.path.join(here, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_lint_config(start: str) -> tuple[LintConfig, tuple[Diagnostic, ...]]:
    """The configuration for `start`. A pyproject.toml whose text cannot hold a
    `tool.adf` table (see `_may_configure_adf`) is not parsed: its syntax is
    not adf's concern, and parsing TOML costs every `adfc check` milliseconds."""
    path = find_pyproject(start)
    if path is None:
        return LintConfig(), ()
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LintConfig(path=path), (_problem(path, Span.point(1, 1), f"cannot read {os.path.basename(path)}: {exc}"),)
    if not _may_configure_adf(text):
        return LintConfig(path=path), ()
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return LintConfig(path=path), (_problem(path, Span.point(1, 1), f"cannot read {os.path.basename(path)}: {exc}"),)
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        return LintConfig(path=path), (_problem(
            path, Span.point(1, 1),
            f"cannot read {os.path.basename(path)}: it nests arrays or tables too deeply"),)
    tool = data.get("tool", {})
    section = tool.get("adf", {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        return LintConfig(path=path), (_problem(path, _locate(text, "[tool.adf"), "`tool.adf` must be a table"),)
    return parse_config(section, path, text)


def _may_configure_adf(text: str) -> bool:
    """False only when no spelling of a `tool.adf` table can be in `text`:
    `[tool.adf...]` headers and `tool.adf...` dotted keys, a `[tool]` table with
    an `adf` key, or an inline `tool = {...}` (quoted keys are allowed for;
    keys written with escape sequences are not)."""
    if "adf" not in text:
        return False
    if re.search(r"""\btool["']?\s*\.\s*["']?adf\b""", text):
        return True
    if re.search(r"""^\s*\[\s*["']?tool["']?\s*\]""", text, re.M) and re.search(
        r"^\s*[\"']?adf[\"']?\s*[.=]", text, re.M
    ):
        return True
    return re.search(r"\btool[\"']?\s*=\s*\{", text) is not None


def parse_config(section: dict[str, Any], path: str, text: str) -> tuple[LintConfig, tuple[Diagnostic, ...]]:
    """Read a `[tool.adf]` table (already parsed) whose source text is `text`."""
    known = documented_codes()
    errors = {c for c in known if c.startswith("E")}
    diagnostics: list[Diagnostic] = []
    lists: dict[str, frozenset[str]] = {}
    for key in ("disable", "enable", "error"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            diagnostics.append(_problem(path, _locate(text, key), f"`{key}` must be a list of codes"))
            lists[key] = frozenset()
            continue
        kept = []
        for code in value:
            norm = code.strip().upper()
            if not _CODE.match(norm) or not any(k.startswith(norm) for k in known):
                diagnostics.append(_unknown(path, _locate(text, code), code, key))
            elif key == "disable" and any(k.startswith(norm) for k in errors):
                diagnostics.append(_problem(path, _locate(text, code),
                                            f"`{code}` names an error, and errors cannot be disabled"))
            else:
                kept.append(norm)
        lists[key] = frozenset(kept)
    limits, problems = _limits(section.get("lint", {}), path, text)
    diagnostics += problems
    config = LintConfig(lists["disable"], lists["enable"], lists["error"], limits, path)
    return config, tuple(diagnostics)


def _limits(table: object, path: str, text: str) -> tuple[LoopLimits, list[Diagnostic]]:
    if not isinstance(table, dict):
        return LoopLimits(), [_problem(path, _locate(text, "lint"), "`tool.adf.lint` must be a table")]
    values: dict[str, int] = {}
    problems = []
    for key, value in table.items():
        field = _LIMIT_KEYS.get(key)
        if field is None:
            known = ", ".join(sorted(_LIMIT_KEYS))
            problems.append(_problem(path, _locate(text, key), f"unknown setting `{key}` (known: {known})"))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(_problem(path, _locate(text, key), f"`{key}` must be a positive integer"))
        else:
            values[field] = value
    default = LoopLimits()
    limits = LoopLimits(
        max_unrolled_nodes=values.get("max_unrolled_nodes", default.max_unrolled_nodes),
        max_calls_per_sample=values.get("max_calls_per_sample", default.max_calls_per_sample),
        max_tokens_per_sample=values.get("max_tokens_per_sample"),
    )
    return limits, problems


def documented_codes(directory: str = _PAGES) -> frozenset[str]:
    """Every documented code: the names of the code pages (a test keeps this
    equal to `adf.compiler.codes.all_codes()`)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return frozenset()
    return frozenset(name[:-3] for name in names if name.endswith(".md") and _PAGE_NAME.match(name[:-3]))


def _locate(text: str, needle: str) -> Span:
    """The first line of the `[tool.adf]` section (or the file) mentioning `needle`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("[tool.adf")), 0)
    for index in range(start, len(lines)):
        column = lines[index].find(needle)
        if column >= 0:
            return Span(index + 1, column + 1, index + 1, column + 1 + len(needle))
    return Span.point(start + 1, 1)


def _unknown(path: str, span: Span, code: str, key: str) -> Diagnostic:
    return Diagnostic(
        code="W0520",
        severity=Severity.WARNING,
        message=f"unknown diagnostic code `{code}` in `{key}`",
        file=path,
        primary=Label(span, "no such code"),
        help="`adfc explain` lists every code; a prefix such as \"W05\" names a group",
    )


def _problem(path: str, span: Span, message: str) -> Diagnostic:
    return Diagnostic(
        code="W0521",
        severity=Severity.WARNING,
        message=message,
        file=path,
        primary=Label(span, "ignored"),
        help="see `adfc explain W0521` for the settings `[tool.adf]` accepts",
    )
