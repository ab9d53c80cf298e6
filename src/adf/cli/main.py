"""The `adfc` entry point: dispatches to one module per sub-command.

Takes argv; gives an exit status (0 clean, 1 diagnostics or failed work,
2 usage or I/O errors, 130 interrupted). Each sub-command lives in
`adf.cli.<name>` and exposes `configure(parser)` and `execute(args) -> int`.
Only the chosen sub-command's module is imported, so `adfc check` never pays
for litellm or the runtime.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("adf.cli.check", "type-check and lint .adf files"),
    "compile": ("adf.cli.compile", "compile a .adf file to a plan"),
    "inspect": ("adf.cli.inspect", "print a compiled plan in readable form"),
    "explain": ("adf.cli.explain", "explain a diagnostic code, e.g. adfc explain E0201"),
    "fmt": ("adf.cli.fmt", "format .adf files canonically"),
    "graph": ("adf.cli.graph", "draw the unrolled graph (DOT, HTML or SVG)"),
    "cost": ("adf.cli.cost", "estimate model calls, tokens and dollars before running"),
    "run": ("adf.cli.run", "run one sample through a workflow"),
    "eval": ("adf.cli.eval", "evaluate a workflow on a data set"),
    "backward": ("adf.cli.backward", "show the feedback each parameter gets on failed samples"),
    "train": ("adf.cli.train", "train the workflow's parameters"),
    "local": ("adf.cli.local", "set up, start or check the local model"),
    "lsp": ("adf.cli.lsp", "run the language server for editors (stdio)"),
    "gen": ("adf.cli.gen", "write a typed client for a workflow: adfc gen python FILE -o OUT.py"),
    "serve": ("adf.cli.serve", "serve a workflow over HTTP (POST /v1/call, /openapi.json)"),
}


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, measuring the terminal with `os` as `shutil` would.

    argparse builds a formatter for every `add_argument` and imports `shutil`
    (with its compression modules) to measure the terminal: about a sixth of
    a bare interpreter start, paid by every `adfc check` for help it does
    not print.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`: `COLUMNS`, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: adfc COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "Run `adfc COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from adf import __version__

        print(f"adfc {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"adfc: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, summary = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"adfc: the {name!r} command is not available in this build", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"adfc {name}", description=summary,
                                     formatter_class=HelpFormatter)
    module.configure(parser)
    try:
        parsed = parser.parse_args(rest)
        status: int = module.execute(parsed)
        return status
    except KeyboardInterrupt:
        print("\nadfc: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    except BrokenPipeError:
        return 0
    except Exception:
        if os.environ.get("ADF_DEBUG"):
            raise
        print(
            "adfc: internal error (a bug in adf, not in your input). "
            "Set ADF_DEBUG=1 to see the traceback and please report it.",
            file=sys.stderr,
        )
        if os.environ.get("ADF_TRACEBACK_FILE"):
            import traceback

            with open(os.environ["ADF_TRACEBACK_FILE"], "a", encoding="utf-8") as handle:
                traceback.print_exc(file=handle)
        return 70


if __name__ == "__main__":
    sys.exit(main())
