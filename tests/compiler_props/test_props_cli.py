"""The `adfc` command line never shows a traceback and exits only 0, 1 or 2.

Runs the real command (`python -m adf.cli.main`) in a subprocess on files
that are garbage, cut short, deeply nested, one megabyte long or not UTF-8,
and on plan files that are not plans. Any internal error (exit 70) or a
Python traceback on either stream fails the test.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from props_fuzz import EXAMPLE_TEXTS

import adf

SOURCE_ROOT = str(pathlib.Path(adf.__file__).resolve().parents[1])  # the adf under test, not the installed one

HEAD = 'model m = "local"\ninput q: str\nllm f(x: str) -> str using m { user: "{x}" }\n'
FILES: dict[str, bytes] = {
    "random bytes": bytes(range(256)) * 40,
    "not utf-8": b'model m = "local" # \xff\xfe\n',
    "utf-16": 'model m = "local"\n'.encode("utf-16"),
    "empty": b"",
    "truncated example": EXAMPLE_TEXTS["hotpotqa.adf"][:700].encode(),
    "deep calls": (HEAD + "node a = " + "f(" * 10_000 + "q" + ")" * 10_000 + "\n").encode(),
    "deep list types": (HEAD + "input z: " + "list[" * 10_000 + "str" + "]" * 10_000).encode(),
    "megabyte line": (HEAD + 'param p: prompt = "' + "x" * 1_000_000 + '"\n').encode(),
    "errors": (HEAD + "node a = g(q)\nnode b = f(1)\noutput c\n").encode(),
}


def adfc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adf.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "ADF_DEBUG": "1", "PYTHONPATH": SOURCE_ROOT},
    )


def _no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1, 2), (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize("name", sorted(FILES))
def test_check_and_compile_never_crash(name: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "input.adf"
    path.write_bytes(FILES[name])
    for args in (("check", str(path)), ("check", "--format", "json", str(path)), ("compile", str(path))):
        proc = adfc(*args)
        _no_crash(proc)
        if name == "errors":
            # human diagnostics on stderr, `--format json` records on stdout
            assert proc.returncode == 1 and "E0102" in (proc.stdout if "json" in args else proc.stderr)
        if name in ("not utf-8", "utf-16", "random bytes"):
            assert proc.returncode == 2, proc.stdout


def test_missing_file_and_directory(tmp_path: pathlib.Path) -> None:
    for target in (tmp_path / "missing.adf", tmp_path):
        proc = adfc("check", str(target))
        _no_crash(proc)
        # an unreadable file is reported like every diagnostic (E0007, on stderr), with exit 2
        assert proc.returncode == 2 and "error[E0007]" in proc.stderr


@pytest.mark.parametrize(
    "data",
    [b"", b"\x93\x01\x02", b"\xff" * 50, bytes(range(256)), b"\x81\xa5magic\xa8adf-plan"],
    ids=["empty", "array", "junk", "all-bytes", "header-only"],
)
def test_inspect_refuses_garbage_plans(data: bytes, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bad.plan"
    path.write_bytes(data)
    proc = adfc("inspect", str(path))
    _no_crash(proc)
    assert proc.returncode == 2 and proc.stderr.strip()


def test_usage_errors_exit_2() -> None:
    for args in ((), ("nonsense",), ("check",), ("compile",), ("explain",), ("check", "--format", "xml", "a.adf")):
        proc = adfc(*args)
        _no_crash(proc)
        assert proc.returncode == 2
