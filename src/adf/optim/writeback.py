"""Rewrite trained parameter literals in a `.adf` source, in place.

Takes the source text, the parameter declarations of its freshly compiled
plan (each with the `value_span` of its literal) and the new values; gives
the new source text in which only those literals changed: comments, blank
lines, the order of declarations and every other byte stay as they were.

Quoting: a single-line prompt becomes `"..."` (backslash escapes for `"`,
`\\`, tabs); a multi-line one becomes `\"\"\"...\"\"\"` written verbatim, or
a one-line escaped string when the text itself holds a triple quote. Demos
are written as a list of records, one per line, indented like the
declaration. `write_back` recompiles the result and checks every rewritten
parameter reads back as the intended value before touching the file, so a
quoting corner case can never corrupt the user's program.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence

import attrs

from adf.diagnostics import Span
from adf.optim.checkpoint import write_text_atomic
from adf.plan.paramvalue import ParamValue, param_value
from adf.plan.schema import Demo, ParamDecl, Plan

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WriteBackError(Exception):
    """The source could not be rewritten safely; the message is for the user."""


@attrs.frozen
class WriteResult:
    path: str
    changed: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def quote_single(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{out}"'


def quote_prompt(text: str) -> str:
    """The `.adf` literal for a prompt value."""
    multi = "\n" in text
    if multi and '"""' not in text and not text.endswith('"') and "\\" not in text:
        return f'"""{text}"""'
    return quote_single(text)


def quote_demos(demos: tuple[Demo, ...], indent: str) -> str:
    if not demos:
        return "[]"
    rows = []
    for demo in demos:
        fields = ", ".join(
            f"{name if _IDENT.match(name) else quote_single(name)}: {quote_single(text)}"
            for name, text in demo.fields
        )
        rows.append(f"{indent}  {{{fields}}},")
    return "[\n" + "\n".join(rows) + f"\n{indent}]"


def _offset(line_starts: Sequence[int], span_line: int, span_col: int) -> int:
    return line_starts[span_line - 1] + span_col - 1


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(source):
        if char == "\n":
            starts.append(index + 1)
    return starts


def rewrite_source(
    source: str, params: Sequence[ParamDecl], values: Mapping[str, ParamValue]
) -> str:
    """`source` with the literal of every param in `values` replaced."""
    starts = _line_starts(source)
    edits: list[tuple[int, int, str]] = []
    for param in params:
        if param.name not in values:
            continue
        span = param.value_span
        if span is None:
            raise WriteBackError(f"parameter {param.name!r} has no literal in the source to rewrite")
        start = _offset(starts, span.line, span.col)
        end = _offset(starts, span.end_line, span.end_col)
        value = values[param.name]
        line_text = source[starts[span.line - 1]:start]
        indent = line_text[: len(line_text) - len(line_text.lstrip())]
        literal = quote_prompt(value) if isinstance(value, str) else quote_demos(value, indent)
        edits.append((start, end, literal))
    edits.sort()
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(edits):
        if start_b < end_a:
            raise WriteBackError("two parameter literals overlap in the source")
    out = source
    for start, end, literal in reversed(edits):
        out = out[:start] + literal + out[end:]
    return out


def _span_ok(span: Span | None) -> bool:
    return span is not None and span.line >= 1 and span.col >= 1


def write_back(
    path: str,
    values: Mapping[str, ParamValue],
    base_values: Mapping[str, ParamValue],
    compile_text: Callable[[str], Plan | None],
) -> WriteResult:
    """Rewrite `path` so each parameter in `values` holds its trained value.

    `base_values` are the values training started from; a parameter whose
    literal was edited since then is skipped (the user's edit wins).
    `compile_text` compiles source text to a plan, or None when it does not
    compile; it is used before and after the rewrite.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            source = handle.read()
    except OSError as exc:
        raise WriteBackError(f"cannot read {path}: {exc.strerror}") from None
    plan = compile_text(source)
    if plan is None:
        raise WriteBackError(f"{path} does not compile any more; not rewriting it")
    by_name = {p.name: p for p in plan.params}
    todo: dict[str, ParamValue] = {}
    skipped: list[tuple[str, str]] = []
    for name, value in values.items():
        param = by_name.get(name)
        if param is None:
            skipped.append((name, "no longer declared"))
            continue
        current: ParamValue = param_value(param)
        if name in base_values and current != base_values[name]:
            skipped.append((name, "its literal was edited since training"))
            continue
        if current == value:
            continue
        if not _span_ok(param.value_span):
            skipped.append((name, "declared in a used file; its value stays in the lock file"
                            if "." in name else "no literal to rewrite"))
            continue
        todo[name] = value
    if not todo:
        return WriteResult(path, (), tuple(skipped))
    new_source = rewrite_source(source, plan.params, todo)
    check = compile_text(new_source)
    if check is None:
        raise WriteBackError("the rewritten source would not compile; left unchanged")
    for name, value in todo.items():
        param = check.param(name)
        got: ParamValue = param_value(param)
        if got != value:
            raise WriteBackError(
                f"parameter {name!r} would not read back as the trained value; left unchanged"
            )
    write_text_atomic(path, new_source)
    return WriteResult(path, tuple(sorted(todo)), tuple(skipped))
