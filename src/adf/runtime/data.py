"""Data sets: jsonl rows -> typed samples, with bad rows reported by file:line.

Takes a plan (its `input` and `target` declarations say which field of a row
each reads and its type) and a path: a `.jsonl` file, or a directory holding
`train.jsonl`, `val.jsonl`, `test.jsonl` with a split name. Gives a `DataSet`:
the samples in file order plus one `BadRow` per row that could not be used
(not UTF-8, not JSON, nested too deeply, a lone surrogate in a string, a
missing field, a value of the wrong type), so every row is accounted for.
With `strict=True` the first bad row raises `DataError` instead. A file that
cannot be read at all raises `DataError` with a one-line message.

Rows follow the JSON Lines rules: a record ends at "\n" (a "\r" before it is
JSON whitespace) and nowhere else, so U+2028, U+2029 and U+0085 inside a
string stay part of its row; a UTF-8 byte order mark at the start of the
file is skipped. Each row is decoded on its own, so one bad byte costs one
row, named by its line and column.

A sample's id is the row's `id` field when it has one (made unique with the
line number if repeated), else `line N`.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from typing import Any

import attrs

from adf.plan.schema import DataDecl, Plan
from adf.runtime.values import MAX_DEPTH, ValueFailure, coerce, value_problem

SPLITS = ("train", "val", "test")
_BOM = b"\xef\xbb\xbf"


class DataError(Exception):
    """A data file or directory that cannot be used; the message is for the user."""


@attrs.frozen
class Sample:
    id: str
    inputs: tuple[tuple[str, Any], ...]
    targets: tuple[tuple[str, Any], ...]
    where: str = ""  # "file:line", for messages

    def values(self) -> dict[str, Any]:
        """Inputs and targets by name (the sources a plan's nodes and losses read)."""
        return {**dict(self.inputs), **dict(self.targets)}


@attrs.frozen
class BadRow:
    where: str
    message: str


@attrs.frozen
class DataSet:
    path: str
    samples: tuple[Sample, ...]
    bad_rows: tuple[BadRow, ...]


def resolve_path(path: str, split: str | None) -> str:
    """The jsonl file meant by `path` (a file, or a directory plus a split name)."""
    if os.path.isdir(path):
        available = [s for s in SPLITS if os.path.isfile(os.path.join(path, f"{s}.jsonl"))]
        if split is None:
            listed = ", ".join(available) or "none found"
            raise DataError(
                f"{path} is a directory; choose a split with --split ({listed})"
            )
        candidate = os.path.join(path, f"{split}.jsonl")
        if not os.path.isfile(candidate):
            listed = ", ".join(available) or "none"
            raise DataError(f"{path} has no {split}.jsonl (splits found: {listed})")
        return candidate
    if not os.path.exists(path):
        raise DataError(f"cannot read data {path}: no such file or directory")
    return path


def load_data(
    plan: Plan,
    path: str,
    *,
    split: str | None = None,
    limit: int | None = None,
    require_targets: bool = True,
    strict: bool = False,
) -> DataSet:
    """Read and type every row; stop after `limit` rows (good or bad) when given.

    With `strict`, the first bad row raises `DataError` naming its file:line.
    """
    if limit is not None and limit < 0:
        raise DataError(f"the row limit must not be negative, found {limit}")
    file = resolve_path(path, split)
    samples: list[Sample] = []
    bad: list[BadRow] = []
    seen_ids: set[str] = set()
    for number, line in enumerate(_lines(file), start=1):
        if limit is not None and len(samples) + len(bad) >= limit:
            break
        if not line.strip():
            continue
        where = f"{file}:{number}"
        row = parse_row(line)
        if isinstance(row, str):
            made: Sample | BadRow = BadRow(where, row)
        else:
            sample_id = _row_id(row, number, seen_ids)
            made = sample_from_row(plan, row, sample_id=sample_id, where=where,
                                   require_targets=require_targets)
        if isinstance(made, BadRow):
            if strict:
                raise DataError(f"{made.where}: {made.message} (--strict-data stops at the "
                                "first bad row)")
            bad.append(made)
        else:
            seen_ids.add(made.id)
            samples.append(made)
    return DataSet(file, tuple(samples), tuple(bad))


def json_rows(file: str) -> list[dict[str, Any]]:
    """The file's usable JSON objects, untyped (the cost forecast sizes inputs from them);
    bad rows are skipped here, the commands that run the data report them."""
    rows = (parse_row(line) for line in _lines(file) if line.strip())
    return [row for row in rows if not isinstance(row, str)]


def parse_row(line: bytes) -> dict[str, Any] | str:
    """One JSON Lines record as an object, or the reason it is not a usable row."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1} "
                "(save the file as UTF-8)")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return f"nested more than {MAX_DEPTH} levels deep"
    except ValueError:  # an integer over Python's digit limit (sys.get_int_max_str_digits)
        return "a number has too many digits"
    if not isinstance(row, dict):
        return f"expected a JSON object, found {_json_kind(row)}"
    problem = value_problem(row)
    return problem if problem is not None else row


def _lines(file: str) -> list[bytes]:
    """The file's records: split at b"\n" only, a leading byte order mark dropped."""
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"cannot read data {file}: not a regular file")
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"cannot read data {file}: {exc.strerror or exc}") from None
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    lines = raw.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _json_kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def sample_from_row(
    plan: Plan,
    row: Mapping[str, Any],
    *,
    sample_id: str,
    where: str = "",
    require_targets: bool = True,
) -> Sample | BadRow:
    """One sample from a row, or why it cannot be one."""
    inputs = _read(plan.inputs, row, where, role="input", required=True)
    if isinstance(inputs, BadRow):
        return inputs
    targets = _read(plan.targets, row, where, role="target", required=require_targets)
    if isinstance(targets, BadRow):
        return targets
    return Sample(sample_id, inputs, targets, where)


def _read(
    decls: tuple[DataDecl, ...], row: Mapping[str, Any], where: str, *, role: str, required: bool
) -> tuple[tuple[str, Any], ...] | BadRow:
    values: list[tuple[str, Any]] = []
    for decl in decls:
        if decl.field not in row:
            if not required:
                continue
            fields = ", ".join(sorted(str(k) for k in row)) or "none"
            return BadRow(where, f"missing field {decl.field!r} for {role} {decl.name!r} "
                                 f"(fields present: {fields})")
        value = coerce(row[decl.field], decl.type)
        if isinstance(value, ValueFailure):
            return BadRow(where, f"field {decl.field!r} ({decl.name}): {value.message}")
        values.append((decl.name, value))
    return tuple(values)


def _row_id(row: Mapping[str, Any], number: int, seen: set[str]) -> str:
    raw = row.get("id")
    if isinstance(raw, str | int) and not isinstance(raw, bool) and str(raw):
        ident = str(raw)
        return ident if ident not in seen else f"{ident}#{number}"
    return f"line {number}"
