"""Small helpers the passes use to build diagnostics.

Takes a code and the parts of a message; gives a `Diagnostic` whose
severity follows the code's letter (`E` error, `W` warning). Passes leave
`file` empty; the pipeline stamps the file name on every diagnostic.
"""

from __future__ import annotations

from collections.abc import Iterable

from adf.diagnostics import Diagnostic, Label, Severity, Span


def diag(
    code: str,
    message: str,
    span: Span,
    label: str = "",
    *,
    secondary: Iterable[Label] = (),
    notes: Iterable[str] = (),
    help: str = "",
) -> Diagnostic:
    severity = Severity.WARNING if code.startswith("W") else Severity.ERROR
    return Diagnostic(
        code=code,
        severity=severity,
        message=message,
        file="",
        primary=Label(span, label),
        secondary=tuple(secondary),
        notes=tuple(notes),
        help=help,
    )


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A `did you mean` help text, or "" when nothing is close."""
    close = nearest(name, candidates, count=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def nearest(name: str, candidates: Iterable[str], *, count: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to `count` candidates spelt most like `name`, closest first (none below `cutoff`);
    letter case does not count (`TEMPERATURE` is nearest `temperature`)."""
    import difflib

    by_folded: dict[str, str] = {}
    for candidate in sorted(set(candidates)):
        by_folded.setdefault(candidate.casefold(), candidate)
    close = difflib.get_close_matches(name.casefold(), by_folded, n=count, cutoff=cutoff)
    return [by_folded[c] for c in close if by_folded[c] != name]


def summarise(names: Iterable[str], *, quote: bool = False, limit: int = 8) -> str:
    """A list of names for a message, cut to `limit` with "and N more" when long."""
    listed = list(names)
    shown = [f"`{n}`" if quote else n for n in listed[:limit]]
    more = len(listed) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
