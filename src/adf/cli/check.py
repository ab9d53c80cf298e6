"""`adfc check FILE...`: type-check and lint `.adf` files.

Takes file paths; prints diagnostics (rustc-style, or JSON with
`--format json`) and gives the exit status: 0 clean (warnings allowed),
1 when any file has errors, 2 when a file cannot be read or the arguments
are wrong. Compiler diagnostics come first; when a file compiles, the lints
of `adf.analysis` run on its plan with the `[tool.adf]` configuration of
the nearest pyproject.toml (which can also silence or promote warnings).
`--no-lint` runs the compiler's checks only. Kept light: it never imports
the runtime or litellm.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adf.compiler.pipeline import CompileResult
    from adf.diagnostics import Diagnostic


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".adf files to check")
    parser.add_argument(
        "--format", choices=("human", "json"), default="human", help="output format"
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the human output",
    )
    parser.add_argument(
        "--no-lint", action="store_true", help="run the compiler's checks only, not the lints"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing for a clean file")


def execute(args: argparse.Namespace) -> int:
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import render_human, render_json, summary

    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    status = 0
    collected: list[Diagnostic] = []
    for path in args.files:
        result = compile_file(path, plan=not args.no_lint)
        if any(d.code == "E0007" for d in result.diagnostics):
            print(f"adfc: {result.diagnostics[0].message}", file=sys.stderr)
            status = 2
            continue
        diagnostics = result.diagnostics if args.no_lint else _lint(result, path)
        if any(d.is_error for d in diagnostics):
            status = max(status, 1)
        if args.format == "json":
            collected.extend(diagnostics)
        elif diagnostics:
            print(
                render_human(diagnostics, _sources(diagnostics, path, result.source), color=color)
            )
            print(f"{path}: {summary(diagnostics)}")
        elif not args.quiet:
            print(f"{path}: ok")
    if args.format == "json":
        print(render_json(collected))
    return status


def _lint(result: CompileResult, path: str) -> tuple[Diagnostic, ...]:
    try:
        from adf.analysis.config import load_lint_config
        from adf.analysis.lint import apply_config, lint_plan
    except ImportError:  # a build without the analyses
        return result.diagnostics
    config, problems = load_lint_config(path)
    if result.plan is not None:
        found = lint_plan(result.plan, path, result.source, config, result.diagnostics)
    else:
        found = apply_config(result.diagnostics, path, result.source, config)
    return (*problems, *found)


def _sources(diagnostics: tuple[Diagnostic, ...], path: str, source: str) -> dict[str, str]:
    """The texts the diagnostics point into (the .adf file, and pyproject.toml for config)."""
    sources = {path: source}
    for d in diagnostics:
        if d.file not in sources:
            try:
                with open(d.file, encoding="utf-8") as handle:
                    sources[d.file] = handle.read()
            except (OSError, UnicodeDecodeError):
                sources[d.file] = ""
    return sources
