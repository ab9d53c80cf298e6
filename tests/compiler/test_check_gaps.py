"""Programs `adfc check` once accepted that then failed or gave a result the types rule out.

Each test pins one rule the checker now shares with the runtime: the program
that slipped through is rejected (or warned about) with its code, and a
close variant that runs correctly still checks clean.
"""

from __future__ import annotations

import pathlib

import pytest

from adf.compiler.codes import all_codes
from adf.compiler.pipeline import compile_file, compile_source
from adf.stdlib.pyload import BindError, load_callable

from .conftest import codes

TWO_ENUMS = """model m = "local"
param p: prompt = "Label it."
input question: str
target answer: enum{a, b}
llm first(question: str) -> enum{a, b} using m { system: [p] user: "{question}" }
llm second(question: str) -> LABELS using m { user: "{question}" }
node x = first(question)
node y = second(question)
node pred = if x == y then "same" else "different"
loss acc = std.loss.METRIC(y, answer)
output pred
"""


@pytest.mark.parametrize(
    ("labels", "metric", "expected"),
    [
        ("enum{c, d}", "exact_match", ["E0211", "E0242"]),  # no label in common: never equal, never scores
        ("enum{c, d}", "label_match", ["E0211", "E0242"]),
        ("enum{b, c}", "exact_match", []),  # one label in common
        ("enum{A, d}", "exact_match", ["E0242"]),  # `==` is exact; the metric lowercases
        ("enum{A, d}", "label_match", ["E0242"]),
        ("enum{\"a b\", c}", "f1", ["E0242"]),  # f1 gives partial credit for the shared token
    ],
)
def test_enums_without_a_common_label(labels: str, metric: str, expected: list[str]) -> None:
    program = TWO_ENUMS.replace("LABELS", labels).replace("METRIC", metric)
    assert [c for c in codes(program) if c.startswith("E")] == expected


def test_an_enum_scored_against_a_text_it_never_takes() -> None:
    program = TWO_ENUMS.replace("LABELS", "enum{c, d}").replace("std.loss.METRIC(y, answer)",
                                                                "std.loss.exact_match(x, \"yes\")")
    assert "E0211" in codes(program)
    assert "E0211" not in codes(program.replace('"yes"', '"A"'))  # exact_match lowercases


def test_a_metric_option_is_not_second_guessed() -> None:
    """A tolerance changes what scores: "3" is within 0.5 of "3.5", so no E0211."""
    program = TWO_ENUMS.replace("LABELS", 'enum{"1", "2", "3", "4", "5"}').replace(
        "std.loss.METRIC(y, answer)", 'std.loss.numeric_match(y, "3.5", tolerance: 0.5)')
    assert "E0211" not in codes(program)
    assert "E0211" in codes(program.replace(", tolerance: 0.5", ""))  # the default tolerance never scores


def test_the_never_scores_check_is_bounded_and_brief() -> None:
    """Many labels: the pairs are not all scored (two 1000-label enums would take seconds),
    and a message names a long enum by its first labels."""
    many = "enum{" + ", ".join(f"c{i}" for i in range(1000)) + "}"
    program = TWO_ENUMS.replace("LABELS", many).replace("target answer: enum{a, b}", "target answer: " + many.replace("c", "d"))
    assert "E0211" not in codes(program)
    hundred = "enum{" + ", ".join(f"c{i}" for i in range(100)) + "}"
    result = compile_source(TWO_ENUMS.replace("LABELS", hundred).replace("METRIC", "exact_match"), "t.adf")
    [never] = [d for d in result.diagnostics if d.code == "E0211"]
    assert "c0, c1, c2, c3 and 96 more" in never.message and "c50" not in never.message


def _bound(tmp_path: pathlib.Path, module: str, source: str, fn: str = "fn f(text: str) -> str") -> list[str]:
    """The codes of a program binding `fn` to `module:f`, with `module.py` holding `source`."""
    (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
    program = f"""input question: str
{fn} = py "{module}:f"
node pred = f(question)
output pred
"""
    result = compile_source(program, "t.adf", base_dir=str(tmp_path))
    return sorted(d.code for d in result.diagnostics)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(text):\n    return text\n\ndel f\n", ["E0404"]),  # the runtime finds no `f`
        ("def f(text):\n    return text\n\ndel f\n\ndef f(text):\n    return text\n", []),
        ("def f(text):\n    yield text\n", ["E0408"]),  # a generator, not a list
        ("def f(text):\n    def inner():\n        yield 1\n    return text\n", []),
        ("from typing import Optional\ndef f(text) -> Optional[str]:\n    return None\n", ["W0403"]),
        ("def f(text) -> str | None:\n    return None\n", ["W0403"]),
        ("import typing\ndef f(text) -> typing.Union[str, None]:\n    return None\n", ["W0403"]),
        ("def f(text) -> 'str | None':\n    return None\n", ["W0403"]),
        ("def f(text) -> None:\n    print(text)\n", ["E0403"]),
        ("def f(text) -> 'None':\n    print(text)\n", ["E0403"]),
        ("def deco(fn):\n    return lambda x: fn(x)\n\n@deco\ndef f(text):\n    return text\n", ["W0402"]),
        ("import functools\n@functools.lru_cache(maxsize=8)\ndef f(text):\n    return text\n", []),
    ],
)
def test_python_bindings_read_as_the_runtime_calls_them(
        tmp_path: pathlib.Path, source: str, expected: list[str]) -> None:
    assert _bound(tmp_path, "helpers", source) == expected


def test_a_generator_metric_is_rejected(tmp_path: pathlib.Path) -> None:
    (tmp_path / "metrics.py").write_text("def score(pred, target):\n    yield 1.0\n", encoding="utf-8")
    program = TWO_ENUMS.replace("LABELS", "enum{a, b}").replace(
        "std.loss.METRIC(y, answer)", 'py "metrics:score"(y, answer)')
    result = compile_source(program, "t.adf", base_dir=str(tmp_path))
    assert "E0408" in [d.code for d in result.diagnostics]


def test_a_file_named_like_a_python_module_is_not_what_runs(tmp_path: pathlib.Path) -> None:
    """`json.py` next to the .adf: Python's own `json` is what the runtime imports, so check
    reads that one too (no `shout` there) and says why."""
    source = "def f(text):\n    return text.upper()\n"
    assert _bound(tmp_path, "json", source) == ["E0404"]
    result = compile_source('input q: str\nfn f(text: str) -> str = py "json:f"\nnode p = f(q)\noutput p\n',
                            "t.adf", base_dir=str(tmp_path))
    assert any("standard library" in note for d in result.diagnostics for note in d.notes)
    with pytest.raises(BindError, match="has no attribute"):
        load_callable("json:f", str(tmp_path))
    assert _bound(tmp_path, "gaps_jsonish", source) == []  # another name binds the file's function
    assert load_callable("gaps_jsonish:f", str(tmp_path))("a") == "A"


def test_a_local_file_named_like_a_python_module_is_noted_when_the_binding_checks(
        tmp_path: pathlib.Path) -> None:
    """`statistics.py` beside the .adf and `statistics:mean` found in Python's own: W0404."""
    (tmp_path / "statistics.py").write_text("def mean(data):\n    return 0.0\n", encoding="utf-8")
    program = 'input xs: list[float]\nfn m(data: list[float]) -> float = py "statistics:mean"\nnode a = m(xs)\noutput a\n'
    assert [d.code for d in compile_source(program, "t.adf", base_dir=str(tmp_path)).diagnostics] == ["W0404"]
    (tmp_path / "statistics.py").unlink()
    assert [d.code for d in compile_source(program, "t.adf", base_dir=str(tmp_path)).diagnostics] == []


MAPS = """model m = "local"
param p: prompt = "Summarise."
input items: list[str]
target answer: str
llm s(t: str) -> str using m { system: [p] user: "{t}" }
llm j(t: list[str]) -> str using m { user: "{t}" }
llm ok(t: list[str]) -> bool using m { user: "{t}" }
fn join(items: list[str]) -> str = std.text.join
BODY
loss score = std.loss.exact_match(pred, answer)
output pred
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # once took minutes and gigabytes to unroll: now E0308 like nested loops, at once
        ("state acc: str = \"\"\nloop i in 0..1000 {\n  node xs = map x in items max 1000 => s(x)\n"
         "  acc = join(xs)\n}\nnode pred = acc", ["E0308"]),
        ("node pred = join(map x in items max 1000 => j(map y in items max 1000 => s(y)))", ["E0308"]),
        ("state acc: str = \"\"\nloop i in 0..10 until ok(map x in items max 101 => s(x)) {\n"
         "  acc = acc + s(acc)\n}\nnode pred = acc", ["E0308"]),
        ("state acc: str = \"\"\nloop i in 0..2 {\n  loop k in 0..5 {\n"
         "    node xs = map x in items max 101 => s(x)\n    acc = join(xs)\n  }\n}\nnode pred = acc",
         ["E0308"]),
        # at the limit: 10 steps of 100 items, 1000 copies
        ("state acc: str = \"\"\nloop i in 0..10 {\n  node xs = map x in items max 100 => s(x)\n"
         "  acc = join(xs)\n}\nnode pred = acc", []),
        ("node pred = join(map x in items max 10 => j(map y in items max 100 => s(y)))", []),
    ],
)
def test_map_copies_are_bounded_like_nested_loops(body: str, expected: list[str]) -> None:
    assert [c for c in codes(MAPS.replace("BODY", body)) if c.startswith("E")] == expected


def test_workflow_calls_of_calls_are_bounded(tmp_path: pathlib.Path) -> None:
    """Each file calls the next one's workflow twice: the copies double per file. Checking
    twenty such files never ended; the file whose calls would pass the limit is E0121."""
    depth = 20
    for k in range(depth):
        body = ('model m = "local"\ninput question: str\nllm s(q: str) -> str using m { user: "{q}" }\n'
                "node out = s(question)\noutput out\n") if k == depth - 1 else (
            f'use "f{k + 1}.adf" as nxt\ninput question: str\n'
            "node a = nxt(question)\nnode out = nxt(a)\noutput out\n")
        (tmp_path / f"f{k}.adf").write_text(body, encoding="utf-8")
    result = compile_file(str(tmp_path / "f0.adf"))
    (large,) = [d for d in result.diagnostics if d.code == "E0121"]
    assert "more than the limit of 10000" in large.message
    over = int(pathlib.Path(large.file or "").stem[1:])  # the first file over the limit
    assert [d.code for d in result.diagnostics if d.file == str(tmp_path / "f0.adf")] == ["E0116"]
    fine = compile_file(str(tmp_path / f"f{over + 1}.adf"))  # the largest file under it
    assert [d.code for d in fine.diagnostics if d.is_error] == []
    assert fine.plan is not None and len(fine.plan.nodes) > 1000


def test_a_package_wins_over_a_module_of_the_same_name(tmp_path: pathlib.Path) -> None:
    """`h/` and `h.py` side by side: Python imports the package, so check reads it too."""
    name = "gaps_package_first"  # a name no other test imports (the import is cached)
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("def f(other):\n    return other\n", encoding="utf-8")
    assert _bound(tmp_path, name, "def f(text):\n    return text\n") == ["E0406"]
    with pytest.raises(TypeError):
        load_callable(f"{name}:f", str(tmp_path))(text="x")  # what the runtime would call


@pytest.mark.parametrize(("number", "expected"), [("1e400", ["E0008"]), ("-2.5e309", ["E0008"]),
                                                  ("1e300", []), ("0.5", [])])
def test_a_float_literal_must_be_finite(number: str, expected: list[str]) -> None:
    program = f"""model m = "local"
input question: str
target answer: float
llm s(q: str) -> float using m {{ user: "{{q}}" }}
node pred = s(question) + {number}
loss acc = std.loss.numeric_match(pred, answer)
output pred
"""
    assert [c for c in codes(program) if c.startswith("E")] == expected


def test_each_folder_binds_its_own_module_of_a_shared_name(tmp_path: pathlib.Path) -> None:
    """Two workflows in one process (the Python API, a server), each with its own
    `gaps_helpers.py`: each binds the function next to it, as check read it, and a
    file named like an installed library binds the file, leaving the library in place."""
    import sys

    import attrs

    for folder, param in (("a", "text"), ("b", "words")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "gaps_helpers.py").write_text(
            f"def f({param}):\n    return '{folder}:' + {param}\n", encoding="utf-8")
    assert load_callable("gaps_helpers:f", str(tmp_path / "a"))(text="x") == "a:x"
    assert load_callable("gaps_helpers:f", str(tmp_path / "b"))(words="y") == "b:y"
    assert load_callable("gaps_helpers:f", str(tmp_path / "a"))(text="z") == "a:z"
    assert _bound(tmp_path, "attrs", "def f(text):\n    return text + '!'\n") == []
    assert load_callable("attrs:f", str(tmp_path))(text="x") == "x!"
    assert sys.modules["attrs"] is attrs


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('input hint: str from "answer"\ntarget gold: str from "answer"', ["E0306"]),  # the answer
        ('input hint: str\ntarget gold: str from "hint"', ["E0306"]),
        ('input hint: str from "label"\ntarget gold: str from "label"', ["E0306"]),
        ('input hint: str from "notes"\ntarget gold: str from "answer"', []),
    ],
)
def test_an_input_never_reads_a_targets_field(data: str, expected: list[str]) -> None:
    program = f"""model m = "local"
param p: prompt = "Answer."
input question: str
{data}
llm s(q: str, h: str) -> str using m {{ system: [p] user: "{{q}} {{h}}" }}
node pred = s(question, hint)
loss acc = std.loss.exact_match(pred, gold)
output pred
"""
    assert [c for c in codes(program) if c.startswith("E")] == expected


def test_loading_leaves_the_process_modules_as_they_were(tmp_path: pathlib.Path) -> None:
    """Each folder's modules are its own (a sibling `textutils` is not shared between two
    folders), a local file named like an installed library does not hide it afterwards,
    and a module that fails to import leaves `sys.path` and `sys.modules` as they were."""
    import sys
    import threading

    import hypothesis

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "gaps_sib.py").write_text(
            "import gaps_text\ndef f(text):\n    return gaps_text.WHO\n", encoding="utf-8")
        (tmp_path / folder / "gaps_text.py").write_text(f"WHO = '{folder}'\n", encoding="utf-8")
    (tmp_path / "a" / "hypothesis.py").write_text("def f(text):\n    return 'local'\n", encoding="utf-8")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "gaps_sib.py").write_text("import gaps_text\nraise RuntimeError('boom')\n", encoding="utf-8")
    (tmp_path / "c" / "gaps_text.py").write_text("WHO = 'c'\n", encoding="utf-8")
    path, modules = list(sys.path), set(sys.modules)
    assert load_callable("gaps_sib:f", str(tmp_path / "a"))(text="") == "a"
    assert load_callable("gaps_sib:f", str(tmp_path / "b"))(text="") == "b"
    assert load_callable("hypothesis:f", str(tmp_path / "a"))(text="") == "local"
    assert sys.modules["hypothesis"] is hypothesis
    with pytest.raises(BindError, match="boom"):
        load_callable("gaps_sib:f", str(tmp_path / "c"))
    assert sys.path == path and set(sys.modules) == modules
    wrong: list[str] = []

    def load(folder: str) -> None:
        for _ in range(20):
            got = load_callable("gaps_sib:f", str(tmp_path / folder))(text="")
            if got != folder:
                wrong.append(got)

    threads = [threading.Thread(target=load, args=(f,)) for f in "abab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == [] and sys.path == path and set(sys.modules) == modules


def test_e0306_says_a_loss_may_compare_with_the_input() -> None:
    """A round trip scores the input itself: the help says so, and that program checks clean."""
    clash = 'model m = "local"\ninput text: str\ntarget gold: str from "text"\n' \
            'llm back(t: str) -> str using m { user: "{t}" }\nnode b = back(text)\n' \
            'loss rt = std.loss.f1(b, gold)\noutput b\n'
    [leak] = [d for d in compile_source(clash, "t.adf").diagnostics if d.code == "E0306"]
    assert "std.loss.f1(back, INPUT)" in (leak.help or "")
    assert "compare with an input itself" in all_codes()["E0306"].page.replace("\n", " ")
    fixed = clash.replace('target gold: str from "text"\n', "").replace("f1(b, gold)", "f1(b, text)")
    assert [c for c in codes(fixed) if c.startswith("E")] == []
