"""`use "file.adf" as r`: linking another file's llm and fn declarations into one plan."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from adf.compiler import pipeline
from adf.compiler.link import MAX_USE_DEPTH
from adf.compiler.pipeline import compile_file
from adf.plan.codec import encode_plan

LIB = '''model student = "local"
param style: prompt = "Summarise the passage."
param unused: prompt = "Never called."
llm summarize(passage: str) -> str using student {
  system: style,
  user: "{passage}",
}
llm other(x: str) -> str using student { system: unused, user: "{x}" }
'''


def write(folder: pathlib.Path, **files: str) -> pathlib.Path:
    for name, text in files.items():
        path = folder / name.replace("__", "/").replace("_adf", ".adf")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder / "main.adf"


def main_text(call: str = "lib.summarize(passage)", model: str = 'model student = "local"') -> str:
    return f'use "lib.adf" as lib\n{model}\ninput passage: str\nnode s = {call}\noutput s\n'


def test_called_declarations_are_copied_with_qualified_names(tmp_path: pathlib.Path) -> None:
    result = compile_file(str(write(tmp_path, main_adf=main_text(), lib_adf=LIB)))
    assert [d.code for d in result.diagnostics if d.is_error] == []
    plan = result.plan
    assert plan is not None
    assert [p.name for p in plan.params] == ["lib.style"]  # only what the call needs
    assert [m.name for m in plan.models] == ["student"]  # the using file's model is called
    (node,) = plan.nodes
    assert node.llm is not None and node.llm.function == "lib.summarize"
    assert node.llm.model == "student"
    assert plan.params[0].value_span is None  # never rewritten in the used file
    # same sources, same bytes
    again = compile_file(str(tmp_path / "main.adf")).plan
    assert again is not None and encode_plan(again) == encode_plan(plan)


def test_a_model_the_using_file_lacks_is_copied_qualified(tmp_path: pathlib.Path) -> None:
    text = main_text(model="")
    plan = compile_file(str(write(tmp_path, main_adf=text, lib_adf=LIB))).plan
    assert plan is not None
    assert [m.name for m in plan.models] == ["lib.student"]


def test_uses_nest_and_keep_distinct_names(tmp_path: pathlib.Path) -> None:
    middle = 'use "deep/lib.adf" as inner\nmodel student = "local"\n' \
        'llm twice(p: str) -> str using student { user: "{p}" }\n' \
        'input p: str\nnode t = inner.summarize(p)\noutput t\n'
    files = {"main_adf": 'use "middle.adf" as mid\nuse "deep/lib.adf" as lib\nmodel student = "local"\n'
             'input passage: str\nnode a = mid.twice(passage)\nnode b = mid.inner.summarize(a)\n'
             'node s = lib.summarize(b)\noutput s\n',
             "middle_adf": middle, "deep__lib_adf": LIB}
    result = compile_file(str(write(tmp_path, **files)))
    assert [d.code for d in result.diagnostics if d.is_error] == []
    assert result.plan is not None
    functions = [n.llm.function for n in result.plan.nodes if n.llm]
    assert functions == ["mid.twice", "mid.inner.summarize", "lib.summarize"]
    # one used file reached two ways keeps two names for its param
    assert sorted(p.name for p in result.plan.params) == ["lib.style", "mid.inner.style"]


def test_errors_name_the_right_file(tmp_path: pathlib.Path) -> None:
    broken = LIB.replace('user: "{passage}"', "user: missing")
    main = write(tmp_path, main_adf=main_text(), lib_adf=broken)
    result = compile_file(str(main))
    found = {(d.code, pathlib.Path(d.file).name, d.primary.span.line) for d in result.diagnostics}
    assert ("E0116", "main.adf", 1) in found
    assert ("E0102", "lib.adf", 6) in found
    assert not any(d.code == "E0102" and d.file == str(main) for d in result.diagnostics)


def test_missing_file_unknown_name_and_type_mismatch(tmp_path: pathlib.Path) -> None:
    cases = {
        'lib.summarise(passage)': "E0115",
        "lib.summarize(3)": "E0201",
        "nope.summarize(passage)": "E0102",
    }
    write(tmp_path, lib_adf=LIB)
    for call, code in cases.items():
        (tmp_path / "main.adf").write_text(main_text(call), encoding="utf-8")
        result = compile_file(str(tmp_path / "main.adf"))
        assert [d.code for d in result.diagnostics if d.is_error] == [code], call
        assert all(d.file == str(tmp_path / "main.adf") for d in result.diagnostics)
    (tmp_path / "main.adf").write_text(main_text().replace('"lib.adf"', '"gone.adf"'), encoding="utf-8")
    result = compile_file(str(tmp_path / "main.adf"))
    assert [(d.code, d.primary.span.line, d.primary.span.col) for d in result.diagnostics] == [
        ("E0113", 1, 5)]


def test_a_cycle_is_reported_with_its_chain(tmp_path: pathlib.Path) -> None:
    a = 'use "b.adf" as b\nmodel m = "local"\nllm f(x: str) -> str using m { user: "{x}" }\n'
    b = 'use "a.adf" as a\nmodel m = "local"\ninput q: str\nnode o = a.f(q)\noutput o\n'
    write(tmp_path, a_adf=a, b_adf=b)
    result = compile_file(str(tmp_path / "a.adf"))
    (cycle,) = [d for d in result.diagnostics if d.code == "E0114"]
    assert cycle.file == str(tmp_path / "b.adf")
    assert "a.adf -> b.adf -> a.adf" in cycle.message
    assert [d.code for d in result.diagnostics if d.file == str(tmp_path / "a.adf")] == ["E0116"]


def test_a_program_without_use_reads_no_other_file(tmp_path: pathlib.Path) -> None:
    # a call with a dot but no `use`: an undefined name, and nothing is read
    (tmp_path / "main.adf").write_text(main_text().replace('use "lib.adf" as lib\n', ""), encoding="utf-8")
    result = compile_file(str(tmp_path / "main.adf"))
    assert [d.code for d in result.diagnostics] == ["E0102"]


def test_checking_through_a_use_never_imports_python(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "tools.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n\ndef shout(text: str) -> str:\n    return text.upper()\n",
        encoding="utf-8")
    lib = 'fn shout(text: str) -> str = py "tools:shout"\n'
    main = 'use "lib.adf" as lib\ninput q: str\nnode a = lib.shout(q)\noutput a\n'
    result = compile_file(str(write(tmp_path, main_adf=main, lib_adf=lib)))
    assert [d.code for d in result.diagnostics] == []  # the signature was read and checked
    assert result.plan is not None and not marker.exists()


def test_fmt_writes_use_and_dotted_calls_canonically() -> None:
    from adf.syntax.fmt import format_source

    text = 'use   "lib.adf"   as  lib\nnode s =   lib . summarize( passage )\nnode t = a.b.c(x)\n'
    formatted = 'use "lib.adf" as lib\nnode s = lib.summarize(passage)\nnode t = a.b.c(x)\n'
    assert format_source(text) == (formatted, ())
    assert format_source(formatted) == (formatted, ())


def test_odd_paths_are_diagnostics(tmp_path: pathlib.Path) -> None:
    (tmp_path / "folder.adf").mkdir()
    for path in ('a\\u0000b.adf', "folder.adf", "", "/dev/zero"):
        text = main_text().replace('"lib.adf"', f'"{path}"')
        (tmp_path / "main.adf").write_text(text, encoding="utf-8")
        result = compile_file(str(tmp_path / "main.adf"))
        assert [d.code for d in result.diagnostics] == ["E0113"], path


def layered(folder: pathlib.Path, levels: int, width: int) -> pathlib.Path:
    """`levels` layers of `width` files, each using every file of the next layer."""
    leaf = 'model m = "local"\nllm f(x: str) -> str using m { user: "{x}" }\n'
    for level in range(levels, -1, -1):
        for k in range(width if level else 1):
            if level == levels:
                text = leaf
            else:
                uses = "".join(f'use "l{level + 1}_{j}.adf" as u{j}\n' for j in range(width))
                calls = "".join(f"node n{j} = u{j}.f(x)\n" for j in range(width))
                text = (f'{uses}model m = "local"\ninput x: str\n'
                        f'llm f(x: str) -> str using m {{ user: "{{x}}" }}\n{calls}output n0\n')
            (folder / (f"l{level}_{k}.adf" if level else "main.adf")).write_text(text)
    return folder / "main.adf"


def test_a_file_reached_along_many_paths_is_checked_once(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 files a layer, each using both files of the next: 2**9 paths reach the last layer
    main = layered(tmp_path, levels=9, width=2)
    compiled: list[str] = []
    real = pipeline._compile

    def counting(text: str, name: str, *rest: Any) -> Any:
        compiled.append(pathlib.Path(name).name)
        return real(text, name, *rest)

    monkeypatch.setattr(pipeline, "_compile", counting)
    result = compile_file(str(main))
    assert [d.code for d in result.diagnostics if d.is_error] == []
    assert sorted(compiled) == sorted({*compiled})  # no file compiled twice
    assert len(compiled) == 1 + 9 * 2


def test_a_chain_of_uses_has_a_depth_limit(tmp_path: pathlib.Path) -> None:
    depth = MAX_USE_DEPTH + 8
    for k in range(depth):
        uses = f'use "f{k + 1}.adf" as nxt\n' if k + 1 < depth else ""
        (tmp_path / f"f{k}.adf").write_text(
            f'{uses}model m = "local"\nllm f(x: str) -> str using m {{ user: "{{x}}" }}\n')
    result = compile_file(str(tmp_path / "f0.adf"))  # a diagnostic, not a RecursionError
    (deep,) = [d for d in result.diagnostics if d.code == "E0118"]
    assert deep.file == str(tmp_path / f"f{MAX_USE_DEPTH - 1}.adf")
    assert [d.code for d in result.diagnostics if d.file == str(tmp_path / "f0.adf")] == ["E0116"]
    shallow = compile_file(str(tmp_path / f"f{depth - MAX_USE_DEPTH}.adf"))
    assert [d.code for d in shallow.diagnostics if d.is_error] == []


def test_the_source_size_limit_applies_to_used_files(tmp_path: pathlib.Path) -> None:
    main = write(tmp_path, main_adf=main_text(), lib_adf=LIB + "# " + "x" * 4000 + "\n")
    small = compile_file(str(main), max_bytes=1000)
    (refused,) = [d for d in small.diagnostics if d.is_error]
    assert refused.code == "E0113" and refused.file == str(main)
    assert any("1000" in note or "limit" in note for note in refused.notes)
    assert [d.code for d in compile_file(str(main), max_bytes=10_000).diagnostics
            if d.is_error] == []
