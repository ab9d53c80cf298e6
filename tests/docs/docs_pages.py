"""Shared helpers for the documentation tests.

Takes nothing; gives the code registry, a function that compiles a page
example and returns the codes it emits (compiler diagnostics, then the lints
when it compiles) and the generator of `docs/diagnostics.md`.
Run `python tests/docs/docs_pages.py` to rewrite `docs/diagnostics.md` after
adding or renaming a code.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from adf.analysis.config import LintConfig
from adf.analysis.lint import lint_plan
from adf.compiler.codes import CodeInfo, all_codes, write_example
from adf.compiler.pipeline import CompileResult, compile_file, compile_source
from adf.records import replace

REPO = pathlib.Path(__file__).resolve().parents[2]
CODES: dict[str, CodeInfo] = all_codes()
INDEX = REPO / "docs" / "diagnostics.md"
PHASES = {
    "syntax": "Syntax (E00xx): the text is not a program",
    "names": "Names (E01xx, W01xx): declarations and the names that use them",
    "types": "Types (E02xx, W02xx): every value and edge is typed",
    "graph": "Graph (E03xx): data flow, cycles and loops",
    "bindings": "Bindings (E04xx, W04xx): `fn` declarations against their Python or std functions",
    "lint": "Lints (W05xx, W06xx): programs that compile but will not train or run well",
}


def compile_page(info: CodeInfo) -> CompileResult:
    """The page's example compiled; for an example of several files, the first one's
    result with its own diagnostics only (those of the files it uses are theirs)."""
    assert info.example is not None
    if info.example_files:
        with tempfile.TemporaryDirectory() as folder:
            main = write_example(info.example_files, folder)
            result = compile_file(main)
        return replace(result, diagnostics=tuple(d for d in result.diagnostics if d.file == main))
    return compile_source(info.example, f"{info.code}.adf", base_dir=str(REPO / "examples" / "hotpotqa"))


def compiler_codes(result: CompileResult) -> set[str]:
    return {d.code for d in result.diagnostics}


def linted_codes(result: CompileResult) -> set[str]:
    """What `adfc check` reports: compiler diagnostics, plus the lints once the plan exists."""
    if result.plan is None:
        return compiler_codes(result)
    found = lint_plan(result.plan, result.file, result.source, LintConfig(), result.diagnostics)
    return {d.code for d in found}


def render_index() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Every diagnostic `adfc check` can print has a stable code. `adfc explain CODE`",
        "prints the code's page (an example that triggers it, why, and how to fix it);",
        "`adfc explain --list` prints this list. Errors (`E`) stop compilation; warnings",
        "(`W`) do not, and can be configured under `[tool.adf]` in `pyproject.toml` or",
        "silenced on one line with a `# adf: allow CODE` comment.",
        "",
        "`adfc check` and `adfc compile` print the same diagnostics (compiler checks,",
        "then the lints): rustc-style, or as records with `--format json` (and",
        "`--format sarif` for `check`). A file that cannot be read is a diagnostic",
        "too (E0007), printed and recorded like any other, so a machine reader never",
        "takes an unreadable file for a clean one.",
        "",
        "Streams, the same for every command: diagnostics in the human format (and",
        "their `FILE: 2 errors` / `FILE: ok` summary, and the one-line `adfc CMD: ...`",
        "failures) go to standard error, as rustc's do; the records of `--format json`",
        "and `--format sarif` are the command's result and go to standard output, as",
        "do a plan listing, a graph, a cost table or run results. So",
        "`adfc check --format json f.adf > report.json` holds the records alone,",
        "`adfc graph f.adf > g.dot` holds only the graph, and `2>&1` pipes the human",
        "report. `--color auto` colours diagnostics when standard error is a terminal.",
        "",
        "Exit status:",
        "0 no errors (warnings allowed), 1 errors, 2 a file cannot be read (E0007)",
        "or the command line is wrong, 70 a bug in adf itself. How the common",
        "mistakes read is specified by `tests/compiler/golden/broken.adfg`: each",
        "broken program there is followed by the first diagnostic it gets.",
        "",
        "This page is generated from the pages in `src/adf/docs/codes/`",
        "(`python tests/docs/docs_pages.py`); a test checks that it lists every code.",
    ]
    for phase, title in PHASES.items():
        rows = [info for info in CODES.values() if info.phase == phase]
        if not rows:
            continue
        lines += ["", f"## {title}", "", "| code | severity | title | summary |", "|---|---|---|---|"]
        lines += [f"| {i.code} | {i.severity} | {i.title} | {i.summary} |" for i in rows]
    other = [i for i in CODES.values() if i.phase not in PHASES]
    if other:
        lines += ["", "## Other", "", "| code | severity | title | summary |", "|---|---|---|---|"]
        lines += [f"| {i.code} | {i.severity} | {i.title} | {i.summary} |" for i in other]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    INDEX.write_text(render_index(), encoding="utf-8")
    sys.stdout.write(f"wrote {INDEX} ({len(CODES)} codes)\n")
