"""Source files are read and written safely: links kept, plans only overwrite plans, bounds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from adf.cli.main import main

PROGRAM = '''model m = "openai/fake"
param instruction: prompt = "Answer."
input question: str
llm answer(question: str) -> str using m {
  system: [instruction]
  user: "{question}"
}
node out = answer(question)
output out
'''
UNFORMATTED = PROGRAM.replace('param instruction: prompt = "Answer."',
                              'param   instruction :prompt= "Answer."')


def test_fmt_formats_a_links_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.adf"
    target.write_text(UNFORMATTED)
    target.chmod(0o640)
    link = tmp_path / "link.adf"
    link.symlink_to(target)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == PROGRAM
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.adf", "real.adf"]


def test_compile_never_overwrites_a_file_that_is_not_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "x.plan"  # source text under a plan's name
    source.write_text(PROGRAM)
    assert main(["compile", str(source)]) == 2
    assert "is the source file itself" in capsys.readouterr().err
    assert source.read_text() == PROGRAM
    real = tmp_path / "prog.adf"
    real.write_text(PROGRAM)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    assert main(["compile", str(real), "-o", str(notes)]) == 2
    assert "is not an adf plan" in capsys.readouterr().err
    assert notes.read_text() == "keep me"
    assert main(["compile", str(real)]) == 0
    assert main(["compile", str(real)]) == 0  # a plan may replace a plan


def test_sources_that_are_not_regular_files_are_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.adf"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.adf"
    zero.symlink_to("/dev/zero")
    done = threading.Event()
    statuses: list[int] = []

    def run() -> None:
        statuses.extend([main(["check", str(fifo)]), main(["check", str(zero)]),
                         main(["fmt", str(fifo)]), main(["compile", str(zero)])])
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(30), "a command blocked on a FIFO or read a device without end"
    assert statuses == [2, 2, 2, 2]
    out = capsys.readouterr()
    assert "it is a pipe, not a regular file" in out.out + out.err
    assert "it is a device, not a regular file" in out.out + out.err


def test_a_source_over_the_size_limit_needs_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.adf"
    big.write_text(PROGRAM + "# " + "x" * 9_000_000 + "\n")
    assert main(["check", str(big)]) == 2
    assert "over the 8,000,000-byte limit" in capsys.readouterr().err
    assert main(["check", str(big), "--max-source-mb", "10"]) == 0
