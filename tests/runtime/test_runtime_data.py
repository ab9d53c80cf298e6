from __future__ import annotations

from pathlib import Path

import pytest
from rt_plans import INT, data, model, plan

from adf.plan.schema import Type
from adf.runtime.data import DataError, load_data


def counting_plan():  # type: ignore[no-untyped-def]
    return plan(models=[model("m", "http://x")],
                inputs=[data("question")],
                targets=[data("answer", INT), data("label", Type("enum", values=("A", "B")), "lab")])


def test_rows_become_typed_samples_and_bad_rows_name_their_line(tmp_path: Path) -> None:
    file = tmp_path / "d.jsonl"
    file.write_text(
        '{"id": "a", "question": "q1", "answer": "3", "lab": "a"}\n'
        "\n"
        "not json\n"
        '{"question": "q2", "answer": "x", "lab": "A"}\n'
        '{"question": "q3", "lab": "B"}\n'
        '{"id": "a", "question": "q4", "answer": 4, "lab": "B"}\n'
    )
    loaded = load_data(counting_plan(), str(file))
    assert [s.id for s in loaded.samples] == ["a", "a#6"]
    assert loaded.samples[0].values() == {"question": "q1", "answer": 3, "label": "A"}
    assert [b.where for b in loaded.bad_rows] == [f"{file}:3", f"{file}:4", f"{file}:5"]
    assert "not valid JSON" in loaded.bad_rows[0].message
    assert "field 'answer' (answer): expected int" in loaded.bad_rows[1].message
    assert "missing field 'answer'" in loaded.bad_rows[2].message


def test_limit_and_split_directories(tmp_path: Path) -> None:
    (tmp_path / "val.jsonl").write_text(
        "".join(f'{{"question": "q{i}", "answer": {i}, "lab": "A"}}\n' for i in range(5))
    )
    loaded = load_data(counting_plan(), str(tmp_path), split="val", limit=2)
    assert [s.id for s in loaded.samples] == ["line 1", "line 2"]
    with pytest.raises(DataError, match=r"choose a split with --split \(val\)"):
        load_data(counting_plan(), str(tmp_path))
    with pytest.raises(DataError, match=r"no test\.jsonl"):
        load_data(counting_plan(), str(tmp_path), split="test")
    with pytest.raises(DataError, match="no such file"):
        load_data(counting_plan(), str(tmp_path / "nope.jsonl"))


def test_targets_optional_for_single_runs(tmp_path: Path) -> None:
    file = tmp_path / "d.jsonl"
    file.write_text('{"question": "q"}\n')
    loaded = load_data(counting_plan(), str(file), require_targets=False)
    assert loaded.samples[0].targets == ()


def test_json_lines_rules_rows_end_at_newline_only_and_a_bom_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "d.jsonl"
    rows = [
        '{"question": "a\u2028b\u2029c\u0085d", "answer": 1, "lab": "A"}',
        '{"question": "second", "answer": 2, "lab": "B"}\r',
    ]
    file.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode("utf-8") + b"\n")
    loaded = load_data(counting_plan(), str(file))
    assert loaded.bad_rows == ()
    assert [s.where for s in loaded.samples] == [f"{file}:1", f"{file}:2"]
    assert loaded.samples[0].values()["question"] == "a\u2028b\u2029c\u0085d"


def test_each_hostile_row_costs_one_row_with_its_line_and_reason(tmp_path: Path) -> None:
    file = tmp_path / "d.jsonl"
    good = b'{"question": "q", "answer": 1, "lab": "A"}'
    lines = [
        good,
        b'{"question": "\xff\xfe", "answer": 1, "lab": "A"}',
        b'{"question": "\\ud800", "answer": 1, "lab": "A"}',
        b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b', "answer": 1, "lab": "A"}',
        b'{"question": ' + b"[" * 70 + b"]" * 70 + b', "answer": 1, "lab": "A"}',
        b"[1, 2]",
        good,
    ]
    file.write_bytes(b"\n".join(lines) + b"\n")
    loaded = load_data(counting_plan(), str(file))
    assert [s.where for s in loaded.samples] == [f"{file}:1", f"{file}:7"]
    reasons = {b.where.rsplit(":", 1)[1]: b.message for b in loaded.bad_rows}
    assert reasons["2"].startswith("not UTF-8: byte 0xff at column 15")
    assert "lone surrogate" in reasons["3"]
    assert "nested more than 64 levels" in reasons["4"]
    assert "nested more than 64 levels" in reasons["5"]
    assert reasons["6"] == "expected a JSON object, found an array"
    with pytest.raises(DataError, match=rf"{file.name}:2: not UTF-8.*--strict-data"):
        load_data(counting_plan(), str(file), strict=True)


def test_a_data_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "d.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        load_data(counting_plan(), str(fifo))
