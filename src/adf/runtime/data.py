"""Data sets: jsonl rows -> typed samples, with bad rows reported by file:line.

Takes a plan (its `input` and `target` declarations say which field of a row
each reads and its type) and a path: a `.jsonl` file, or a directory holding
`train.jsonl`, `val.jsonl`, `test.jsonl` with a split name. Gives a `DataSet`:
the samples in file order plus one `BadRow` per row that could not be used
(not JSON, a missing field, a value of the wrong type), so every row is
accounted for. A file that cannot be read at all raises `DataError` with a
one-line message.

A sample's id is the row's `id` field when it has one (made unique with the
line number if repeated), else `line N`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from adf.plan.schema import DataDecl, Plan
from adf.runtime.values import ValueFailure, coerce

SPLITS = ("train", "val", "test")


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
) -> DataSet:
    """Read and type every row; stop after `limit` rows (good or bad) when given."""
    file = resolve_path(path, split)
    try:
        with open(file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise DataError(f"cannot read data {file}: {reason}") from None
    samples: list[Sample] = []
    bad: list[BadRow] = []
    seen_ids: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if limit is not None and len(samples) + len(bad) >= limit:
            break
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(BadRow(where, f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(row, dict):
            bad.append(BadRow(where, f"expected a JSON object, found {type(row).__name__}"))
            continue
        sample_id = _row_id(row, number, seen_ids)
        made = sample_from_row(plan, row, sample_id=sample_id, where=where,
                               require_targets=require_targets)
        if isinstance(made, BadRow):
            bad.append(made)
        else:
            seen_ids.add(sample_id)
            samples.append(made)
    return DataSet(file, tuple(samples), tuple(bad))


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
