"""The one entry point of the lints: every analysis over a plan, configured.

Takes a compiled `Plan`, the file name to report, its source text (for
inline suppressions; `None` for a plan without source) and a `LintConfig`;
gives the lint diagnostics in source order, with the configuration applied:
disabled codes dropped, off-by-default codes kept only when enabled, codes
promoted to errors, `# adf: allow CODE` comments honoured.

Pass the compiler's own warnings as `compiler_diagnostics` to have the same
configuration and suppressions applied to them (they are returned merged);
W0513 (a suppression comment that silenced nothing) is only exact then.
`apply_config` alone (for a file that did not compile, so no lints ran)
never reports W0513. Errors are never suppressed or disabled.

Each analysis module is imported when it runs, and runs only when the
configuration leaves one of its codes on (`LINT_CODES`), so `adfc check`
pays at start-up only for the lints it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from adf.analysis.config import LintConfig
from adf.analysis.graphview import build_view
from adf.analysis.suppress import Suppression, find_suppressions
from adf.diagnostics import Diagnostic, Label, Severity
from adf.plan.schema import Plan
from adf.records import replace

# The codes each analysis module reports (a test holds this to the modules' sources).
LINT_CODES: dict[str, tuple[str, ...]] = {
    "reachability": ("W0501", "W0502", "W0503"),
    "deadcode": ("W0504", "W0510"),
    "deadbranch": ("W0530",),
    "loopsize": ("W0511", "W0512"),
    "context": ("W0601", "W0602", "W0603"),
    "shellsink": ("W0540",),
}


def run_lints(plan: Plan, file: str, config: LintConfig) -> list[Diagnostic]:
    """Every lint the configuration leaves on, unfiltered."""
    on = {name for name, codes in LINT_CODES.items() if any(map(config.is_enabled, codes))}
    view = build_view(plan)
    diagnostics: list[Diagnostic] = []
    if on & {"reachability", "context"}:
        from adf.analysis.reachability import check_reachability, compute_reachability

        reach = compute_reachability(view)
        if "reachability" in on:
            diagnostics += check_reachability(view, reach, file)
    if "deadcode" in on:
        from adf.analysis.deadcode import check_dead_code

        diagnostics += check_dead_code(view, file)
    if "deadbranch" in on:
        from adf.analysis.deadbranch import check_dead_branches

        diagnostics += check_dead_branches(view, file)
    if on & {"loopsize", "context"}:
        from adf.analysis.sizes import compute_sizes

        sizes = compute_sizes(view)
        if "loopsize" in on:
            from adf.analysis.loopsize import check_loop_sizes

            diagnostics += check_loop_sizes(view, sizes, config.limits, file)
        if "context" in on:
            from adf.analysis.context import check_context

            diagnostics += check_context(view, sizes, reach, file)
    if "shellsink" in on:
        from adf.analysis.shellsink import check_shell_sinks

        diagnostics += check_shell_sinks(view, file)
    return diagnostics


def lint_plan(
    plan: Plan,
    file: str,
    source: str | None,
    config: LintConfig,
    compiler_diagnostics: Sequence[Diagnostic] = (),
) -> tuple[Diagnostic, ...]:
    found = [*compiler_diagnostics, *run_lints(plan, file, config)]
    return apply_config(found, file, source, config, report_unused=True)


def apply_config(
    diagnostics: Sequence[Diagnostic],
    file: str,
    source: str | None,
    config: LintConfig,
    *,
    report_unused: bool = False,
) -> tuple[Diagnostic, ...]:
    """Filter, suppress and promote `diagnostics` of `file`. `report_unused` adds W0513
    for suppressions that silenced nothing: only meaningful when `diagnostics` holds
    everything reported for the file (the lints ran)."""
    suppressions = find_suppressions(source) if source is not None else ()
    index = _index(suppressions)
    used: set[tuple[int, str]] = set()
    kept = []
    for diagnostic in diagnostics:
        if not diagnostic.is_error:
            if not config.is_enabled(diagnostic.code):
                continue
            if diagnostic.file == file and _suppressed(diagnostic, suppressions, index, used):
                continue
            if config.is_promoted(diagnostic.code):
                diagnostic = replace(diagnostic, severity=Severity.ERROR)
        kept.append(diagnostic)
    if report_unused and config.is_enabled("W0513"):
        kept += _unused_suppressions(suppressions, used, file, config)
    # Stable sorts from the last key to the first: the order of the key
    # (d.file != file, d.file, d.primary.span, d.code), without a key tuple per diagnostic
    # held through the sort (a large file's lints give one diagnostic per declaration).
    kept.sort(key=attrgetter("code"))
    kept.sort(key=attrgetter("primary.span"))
    kept.sort(key=attrgetter("file"))
    kept.sort(key=lambda d: d.file != file)
    return tuple(kept)


def _index(suppressions: Sequence[Suppression]) -> dict[int, list[int]]:
    """Suppression positions by the line they cover; key 0 holds whole-file ones."""
    table: dict[int, list[int]] = {}
    for position, suppression in enumerate(suppressions):
        for line in suppression.lines or (0,):
            table.setdefault(line, []).append(position)
    return table


def _suppressed(
    diagnostic: Diagnostic,
    suppressions: Sequence[Suppression],
    index: dict[int, list[int]],
    used: set[tuple[int, str]],
) -> bool:
    line = diagnostic.primary.span.line
    hit = False
    for position in (*index.get(line, ()), *index.get(0, ())):
        suppression = suppressions[position]
        if suppression.covers(diagnostic.code, line):
            for code in suppression.codes:
                if diagnostic.code.startswith(code):
                    used.add((position, code))
            hit = True
    return hit


def _unused_suppressions(
    suppressions: Sequence[Suppression], used: set[tuple[int, str]], file: str, config: LintConfig
) -> list[Diagnostic]:
    found = []
    for index, suppression in enumerate(suppressions):
        for code in suppression.codes:
            if (index, code) in used:
                continue
            severity = Severity.ERROR if config.is_promoted("W0513") else Severity.WARNING
            found.append(Diagnostic(
                code="W0513",
                severity=severity,
                message=f"the suppression of `{code}` is not needed: nothing here reports it",
                file=file,
                primary=Label(suppression.span, "unused suppression"),
                help="remove the code from the comment (or the whole comment)",
            ))
    return found
