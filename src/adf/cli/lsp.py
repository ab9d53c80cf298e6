"""`adfc lsp`: run the language server over stdio for an editor.

Takes no files: the editor sends documents over the Language Server
Protocol. Needs the `lsp` extra (`pip install 'adf[lsp]'`); without it the
command says so and exits 2. Like `adfc check`, it never runs user code.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)"
    )


def execute(args: argparse.Namespace) -> int:
    try:
        from adf.lsp.server import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("pygls", "lsprotocol", "cattrs") and not (exc.name or "").startswith(
            ("pygls.", "lsprotocol.")
        ):
            raise
        print(
            "adfc: the language server needs pygls and lsprotocol: pip install 'adf[lsp]'",
            file=sys.stderr,
        )
        return 2
    try:
        serve()
    except MemoryError:  # pygls allocates the Content-Length a message announces
        print("adfc lsp: the editor announced a message too large to hold in memory",
              file=sys.stderr)
        return 2
    return 0
