"""`adfc check FILE...`: type-check and lint `.adf` files.

Takes file paths (a directory stands for the `.adf` files under it); prints diagnostics (rustc-style on standard error, or as
records on standard output: JSON with `--format json`, SARIF 2.1.0 with
`--format sarif` for code scanning; see `adf.cli._stream`) and gives the
exit status: 0 clean (warnings allowed),
1 when any file has errors, 2 when a file cannot be read (E0007, printed
and recorded in JSON and SARIF like any diagnostic) or the arguments are
wrong. Compiler diagnostics come first; when a file compiles, the lints
of `adf.analysis` run on its plan with the `[tool.adf]` configuration of
the nearest pyproject.toml (which can also silence or promote warnings).
`--no-lint` runs the compiler's checks only. Kept light: it never imports
the runtime or litellm.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from adf.cli._args import add_source_limit, adf_files, source_limit
from adf.cli._stream import diagnostics_color, print_diagnostics, print_records

if TYPE_CHECKING:
    from adf.compiler.pipeline import CompileResult
    from adf.diagnostics import Diagnostic


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".adf files or directories to check")
    parser.add_argument(
        "--format", choices=("human", "json", "sarif"), default="human", help="output format"
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
    add_source_limit(parser)


def execute(args: argparse.Namespace) -> int:
    from adf.compiler.pipeline import compile_file
    from adf.compiler.render import human_blocks, json_chunks, render_human, summary

    color = diagnostics_color(args.color)
    status = 0
    collected: list[Diagnostic] = []
    sources: dict[str, str] = {}
    reported_configs: set[str] = set()
    # a directory stands for its .adf files; with none at all, the paths themselves are read,
    # so an empty directory is E0007 (exit 2, a record in every format), never a clean result
    for path in adf_files(args.files) or args.files:
        result = compile_file(path, plan=not args.no_lint, max_bytes=source_limit(args))
        if any(d.code == "E0007" for d in result.diagnostics):
            status = 2  # an unreadable file is an I/O error, reported as a record like any other
            if args.format != "human":
                collected.extend(result.diagnostics)
                sources[path] = result.source
            else:
                print_diagnostics(render_human(result.diagnostics, {path: result.source}, color=color))
            continue
        diagnostics = result.diagnostics if args.no_lint else lint_result(result, path, reported_configs)
        source = result.source
        del result  # the plan is not needed to print: a large program's plan is freed first
        if any(d.is_error for d in diagnostics):
            status = max(status, 1)
        if args.format != "human":
            collected.extend(diagnostics)
            sources.update(diagnostic_sources(diagnostics, path, source))
        elif diagnostics:
            for block in human_blocks(diagnostics, diagnostic_sources(diagnostics, path, source), color):
                print_diagnostics(block)
            print_diagnostics(f"{path}: {summary(diagnostics)}")
        elif not args.quiet:
            print_diagnostics(f"{path}: ok")
    if args.format == "json":
        print_records(json_chunks(collected))
    elif args.format == "sarif":
        from adf.analysis.sarif import sarif_chunks

        print_records(sarif_chunks(collected, sources))
    return status


def lint_result(result: CompileResult, path: str, reported_configs: set[str]) -> tuple[Diagnostic, ...]:
    """Lint a compiled file; problems in a shared pyproject.toml are reported once per run."""
    from adf.analysis.config import load_lint_config
    from adf.analysis.lint import apply_config, lint_plan

    config, found_problems = load_lint_config(path)
    problems = tuple(p for p in found_problems if p.file not in reported_configs)
    reported_configs.update(p.file for p in found_problems)
    if result.plan is not None:
        found = lint_plan(result.plan, path, result.source, config, result.diagnostics)
    else:
        found = apply_config(result.diagnostics, path, result.source, config)
    return (*problems, *found)


def diagnostic_sources(diagnostics: tuple[Diagnostic, ...], path: str, source: str) -> dict[str, str]:
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
