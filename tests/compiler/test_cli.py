"""`adfc check / compile / inspect / explain`: output and exit statuses."""

from __future__ import annotations

import json
import pathlib

import pytest

from adf.cli.main import main

from .conftest import EXAMPLES

BAD = 'model m = "local"\ninput q: str\nllm ask(q: str) -> str { user: "{q}" }\nnode a = ask(qq)\nnode b = ask(a, a)\n'


def test_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *map(str, EXAMPLES)]) == 0
    assert "ok" in capsys.readouterr().err


def test_check_errors_human(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.adf"
    path.write_text(BAD)
    assert main(["check", "--color", "never", str(path)]) == 1
    out = capsys.readouterr().err
    assert "error[E0102]: undefined name `qq`" in out
    assert f"--> {path}:4:14" in out
    assert "^^" in out and "= help: did you mean `q`?" in out
    assert "error[E0204]" in out
    assert "2 errors" in out


def test_check_json(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.adf"
    path.write_text(BAD)
    assert main(["check", "--format", "json", str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in data] == ["E0102", "E0204"]
    assert data[0]["primary"]["line"] == 4 and data[0]["file"] == str(path)


def test_check_io_errors(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.adf")]) == 2
    binary = tmp_path / "bin.adf"
    binary.write_bytes(b"node a = \xff\xfe\n")
    assert main(["check", str(binary)]) == 2
    out = capsys.readouterr().err
    assert "error[E0007]: cannot read" in out and "error[E0007]:" in out and "not valid UTF-8" in out
    assert main(["check"]) == 2


@pytest.mark.parametrize("form", ["json", "sarif"])
def test_io_errors_are_records(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], form: str) -> None:
    """A machine reader never sees an unreadable file as clean: E0007 is a record, exit 2."""
    binary = tmp_path / "bin.adf"
    binary.write_bytes(b"node a = \xff\xfe\n")
    assert main(["check", "--format", form, str(binary)]) == 2
    data = json.loads(capsys.readouterr().out)
    records = data if form == "json" else data["runs"][0]["results"]
    codes = [r["code"] if form == "json" else r["ruleId"] for r in records]
    assert codes == ["E0007"]


def test_compile_prints_what_check_prints(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "warn.adf"
    path.write_text(
        'model m = "local"\nmodel unused = "local"\ninput q: str\n'
        'llm ask(q: str) -> str using m { user: "{q}" }\nnode a = ask(q)\noutput a\n'
    )
    main(["check", "--color", "never", str(path)])
    checked = capsys.readouterr().err
    assert main(["compile", str(path), "-o", str(tmp_path / "w.plan")]) == 0
    compiled = capsys.readouterr().err
    warnings = [line for line in checked.splitlines() if line.startswith("warning[")]
    assert warnings and warnings == [line for line in compiled.splitlines() if line.startswith("warning[")]
    assert main(["compile", str(tmp_path / "missing.adf")]) == 2
    assert "error[E0007]" in capsys.readouterr().err


def test_empty_program_warns(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.adf"
    path.write_text("# nothing yet\n")
    assert main(["check", str(path)]) == 0
    assert "warning[W0103]: the program declares nothing" in capsys.readouterr().err


def test_compile_and_inspect(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = next(p for p in EXAMPLES if p.stem == "hotpotqa")
    out = tmp_path / "h.plan"
    assert main(["compile", str(source), "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["compile", str(source), "-o", str(out)]) == 0
    assert out.read_bytes() == first
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "query@1" in text and "notes@1" in text and "plan hotpotqa.adf" in text


def test_inspect_names_the_loop_around_a_nested_loop(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = next(p for p in EXAMPLES if p.stem == "hotpotqa_nested")
    out = tmp_path / "n.plan"
    assert main(["compile", str(source), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    loops = [line for line in capsys.readouterr().out.splitlines() if line.startswith("loop ")]
    assert [line.split(", body")[0] for line in loops] == [
        "loop attempt: 3 steps in each step of hop, until keep", "loop hop: 3 steps, until enough"]


def test_compile_default_output_and_errors(tmp_path: pathlib.Path) -> None:
    good = tmp_path / "g.adf"
    good.write_text(
        'model m = "local"\ninput q: str\nllm a(q: str) -> str { user: "{q}" }\nnode n = a(q)\n'
    )
    assert main(["compile", str(good)]) == 0
    assert (tmp_path / "g.plan").is_file()
    bad = tmp_path / "b.adf"
    bad.write_text(BAD)
    assert main(["compile", str(bad)]) == 1
    assert not (tmp_path / "b.plan").exists()


def test_inspect_rejects_bad_plans(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.plan"
    bad.write_bytes(b"\x00garbage")
    assert main(["inspect", str(bad)]) == 2
    assert main(["inspect", str(tmp_path / "none.plan")]) == 2
    err = capsys.readouterr().err
    assert err.count("adfc inspect:") == 2


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "E0301"]) == 0
    assert capsys.readouterr().out.startswith("# E0301: cycle")
    assert main(["explain", "E0399"]) == 2
    assert "unknown code" in capsys.readouterr().err
    assert main(["explain", "--list"]) == 0
    assert "E0102" in capsys.readouterr().out


def test_check_runs_lints_unless_told_not_to(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dead.adf"
    path.write_text(
        'model m = "local"\ninput q: str\nllm ask(q: str) -> str { user: "{q}" }\n'
        "node a = ask(q)\nnode dead = ask(q)\noutput a\n"
    )
    assert main(["check", "--format", "json", str(path)]) == 0
    with_lints = {d["code"] for d in json.loads(capsys.readouterr().out)}
    assert with_lints and all(code.startswith("W05") for code in with_lints)
    assert main(["check", "--no-lint", "--format", "json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_inspect_refuses_a_newer_plan(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import msgpack

    from adf.compiler.pipeline import compile_file
    from adf.plan.codec import encode_plan

    plan = compile_file(str(EXAMPLES[0])).plan
    assert plan is not None
    raw = msgpack.unpackb(encode_plan(plan), raw=False)
    raw["format_version"] = 99
    newer = tmp_path / "newer.plan"
    newer.write_bytes(msgpack.packb(raw, use_bin_type=True))
    assert main(["inspect", str(newer)]) == 2
    err = capsys.readouterr().err
    assert "newer" in err and err.count("\n") == 1


def test_compile_file_never_raises_on_bad_paths(tmp_path: pathlib.Path) -> None:
    from adf.compiler.pipeline import compile_file

    for path in (tmp_path, tmp_path / "missing.adf"):
        result = compile_file(str(path))
        assert result.plan is None and [d.code for d in result.diagnostics] == ["E0007"]
    bom = tmp_path / "bom.adf"
    bom.write_bytes('\ufeffmodel m = "local"\n'.encode())
    assert compile_file(str(bom)).diagnostics == ()


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["compile"],
        ["fmt"],
        ["graph"],
        ["cost"],
        ["run", "--input", '{"q": "x"}'],
        ["train", "--dry-run"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_command_prints_diagnostics_on_stderr(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """One stream for diagnostics (docs/diagnostics.md): human diagnostics on stderr, stdout clean."""
    path = tmp_path / "bad.adf"
    path.write_text(BAD if argv[0] != "fmt" else 'model m = "local"\nnode a = (\n')
    assert main([argv[0], str(path), *argv[1:]]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error[E0" in err and f"--> {path}:" in err


def test_machine_records_go_to_stdout(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.adf"
    path.write_text(BAD)
    for command in ("check", "compile"):
        assert main([command, "--format", "json", str(path)]) == 1
        out, err = capsys.readouterr()
        assert [d["code"] for d in json.loads(out)] == ["E0102", "E0204"] and err == ""


def test_check_takes_directories(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`adfc check DIR` checks the .adf files under it, as `adfc fmt DIR` formats them."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.adf").write_text(BAD)
    (tmp_path / "good.adf").write_text(next(p for p in EXAMPLES if p.stem == "gsm8k").read_text())
    assert main(["check", "--color", "never", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'good.adf'}: ok" in err and f"{tmp_path / 'sub' / 'bad.adf'}: 2 errors" in err
    (tmp_path / "empty").mkdir()
    assert main(["check", str(tmp_path / "empty")]) == 2  # nothing checked is not a clean result
    assert "error[E0007]: cannot read" in capsys.readouterr().err
    assert main(["check", "--format", "json", str(tmp_path / "empty")]) == 2
    assert [d["code"] for d in json.loads(capsys.readouterr().out)] == ["E0007"]
