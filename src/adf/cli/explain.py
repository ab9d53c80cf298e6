"""`adfc explain CODE`: print the documentation page of a diagnostic code.

Takes a code (`E0102`, `e102` and `W0201` all work); prints its page and
gives 0, or gives 2 with a hint when the code is unknown. `--list` prints
every code with its one-line summary.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", nargs="?", metavar="CODE", help="a diagnostic code, e.g. E0102")
    parser.add_argument("--list", action="store_true", help="list every code")


def execute(args: argparse.Namespace) -> int:
    from adf.compiler.codes import all_codes, explain, normalize

    if args.list or not args.code:
        if not args.list:
            print(
                "adfc explain: give a code, e.g. `adfc explain E0102`, or --list", file=sys.stderr
            )
            return 2
        for info in all_codes().values():
            print(f"{info.code}  {info.severity:<7}  {info.title}")
        return 0
    page = explain(args.code)
    if page is None:
        normal = normalize(args.code)
        known = all_codes()
        hint = "codes look like E0102 or W0201"
        if normal is not None:
            same_phase = [c for c in known if c[:3] == normal[:3]]
            if same_phase:
                hint = "codes in this group: " + ", ".join(same_phase)
        print(
            f"adfc explain: unknown code {args.code!r} ({hint}; `adfc explain --list` shows all)",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(page if page.endswith("\n") else page + "\n")
    return 0
