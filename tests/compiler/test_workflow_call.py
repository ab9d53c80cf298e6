"""`node v = r(args)`: a used file's whole workflow called as one function, unrolled per call."""

from __future__ import annotations

import pathlib

from adf.compiler.pipeline import CompileResult, compile_file
from adf.plan.codec import encode_plan

RATER = '''model student = "local"
param instruction: prompt "how to judge" = "Judge the sentiment."
input text: str
input hint: str
target label: enum{"neg", "pos"} from "label_name"
llm rate(text: str, hint: str) -> enum{"neg", "pos"} using student {
  system: instruction
  user: "Text: {text} ({hint})"
}
llm explain(text: str) -> str using student { user: "Why? {text}" }
node pred = rate(text, hint)
node why = explain(text)
loss accuracy = std.loss.label_match(pred, label)
output pred
'''

HEAD = '''use "rater.adf" as rater
model student = "local"
input text: str
target label: enum{"neg", "pos"} from "label_name"
'''


def compile_main(tmp_path: pathlib.Path, body: str, rater: str = RATER,
                 **files: str) -> CompileResult:
    (tmp_path / "rater.adf").write_text(rater, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    main = tmp_path / "main.adf"
    main.write_text(HEAD + body, encoding="utf-8")
    return compile_file(str(main))


def codes(result: CompileResult) -> list[str]:
    return [d.code for d in result.diagnostics if d.is_error]


def test_each_call_is_unrolled_under_its_node_and_shares_the_params(tmp_path: pathlib.Path) -> None:
    result = compile_main(tmp_path, '''llm gist(text: str) -> str using student { user: "{text}" }
node opinion = gist(text)
node first = rater(opinion, "short")
node second = rater(hint: "long", text: text)
loss a = std.loss.label_match(first, label)
loss b = std.loss.label_match(second, label)
output first
''')
    assert codes(result) == []
    plan = result.plan
    assert plan is not None
    by_id = {n.id: n for n in plan.nodes}
    # the used file's output node takes the call's name; an argument that is a name is an
    # alias (no node), a literal is a node `CALL.INPUT`; `why` feeds no output: not copied
    assert list(by_id) == ["opinion", "first.hint", "first", "second.hint", "second"]
    first, second = by_id["first"], by_id["second"]
    assert first.llm is not None and second.llm is not None
    assert first.llm.function == second.llm.function == "rater.rate"
    assert {b.name: b.source for b in first.inputs} == {"text": "opinion", "hint": "first.hint"}
    assert {b.name: b.source for b in second.inputs} == {"text": "text", "hint": "second.hint"}
    assert str(first.output_type) == "enum{neg, pos}"
    assert {n.id: n.call for n in plan.nodes} == {
        "opinion": None, "first.hint": "first", "first": "first", "second.hint": "second",
        "second": "second"}
    # one trainable param for both calls, named as for `rater.rate(...)`
    assert [p.name for p in plan.params] == ["rater.instruction"]
    assert [m.name for m in plan.models] == ["student"]
    assert [loss.name for loss in plan.losses] == ["a", "b"]  # the used file's loss stays there
    again = compile_file(str(tmp_path / "main.adf")).plan
    assert again is not None and encode_plan(again) == encode_plan(plan)


def test_a_function_call_and_a_workflow_call_of_one_file_share_its_params(
        tmp_path: pathlib.Path) -> None:
    result = compile_main(tmp_path, '''node direct = rater.rate(text, "x")
node whole = rater(text, "y")
loss a = std.loss.label_match(direct, label)
loss b = std.loss.label_match(whole, label)
output whole
''')
    assert codes(result) == []
    assert result.plan is not None
    assert [p.name for p in result.plan.params] == ["rater.instruction"]
    assert [d.message for d in result.diagnostics] == []


def test_loops_states_and_constants_are_named_after_the_call(tmp_path: pathlib.Path) -> None:
    looped = '''model m = "local"
param style: prompt = "Improve it."
input q: str
const rounds = 2
state draft: str = ""
llm improve(q: str, draft: str) -> str using m { system: style, user: "{q} {draft}" }
loop r in 0..rounds {
  node better = improve(q, draft)
  draft = better
}
node answer = improve(q, draft)
output answer
'''
    result = compile_main(tmp_path, '''node one = rater(text)
node two = rater(one)
output two
''', rater=looped)
    assert codes(result) == []
    assert result.plan is not None
    ids = [n.id for n in result.plan.nodes]
    assert ids[:4] == ["one.draft", "one.better@0", "one.better@1", "one"]
    assert "two.better@1" in ids and ids[-1] == "two"
    assert [loop.name for loop in result.plan.loops] == ["one.r", "two.r"]
    assert [p.name for p in result.plan.params] == ["rater.style"]


def test_argument_count_names_and_types_are_checked(tmp_path: pathlib.Path) -> None:
    bodies = {
        "node v = rater(text)\noutput v\n": ["E0204"],
        'node v = rater(text, "a", "b")\noutput v\n': ["E0204"],
        'node v = rater(text, hnt: "a")\noutput v\n': ["E0205"],
        'node v = rater(text, 3)\noutput v\n': ["E0201"],
        "fn n(text: str) -> int = std.parse.last_int\nnode k = n(text)\n"
        "node v = rater(k, text)\noutput v\n": ["E0201"],
    }
    for body, expected in bodies.items():
        result = compile_main(tmp_path, body)
        assert codes(result) == expected, body  # one mistake, one error: no follow-on ones
    mismatch = compile_main(tmp_path, "node v = rater(text, 3)\noutput v\n").diagnostics[0]
    assert "argument `hint` of the workflow `rater`" in mismatch.message
    assert (mismatch.primary.span.line, mismatch.primary.span.col) == (5, 22)
    assert "rater.adf" in mismatch.help


def test_a_text_literal_fits_an_enum_input(tmp_path: pathlib.Path) -> None:
    chooser = '''model m = "local"
input mood: enum{"calm", "angry"}
llm say(mood: enum{"calm", "angry"}) -> str using m { user: "{mood}" }
node line = say(mood)
output line
'''
    assert codes(compile_main(tmp_path, 'node v = rater("calm")\noutput v\n', rater=chooser)) == []
    assert codes(compile_main(tmp_path, 'node v = rater("sad")\noutput v\n',
                              rater=chooser)) == ["E0201"]


def test_a_call_inside_an_expression_or_a_loop_is_E0119(tmp_path: pathlib.Path) -> None:
    for body in (
        'fn lines(text: str) -> list[str] = std.text.lines\nnode v = lines(rater(text, "a"))\n'
        "output v\n",
        'node v = if text == "x" then rater(text, "a") else "neg"\noutput v\n',
        'loop i in 0..2 {\n  node v = rater(text, "a")\n}\noutput v\n',
    ):
        assert codes(compile_main(tmp_path, body)) == ["E0119"], body


def test_a_file_without_exactly_one_output_is_E0120(tmp_path: pathlib.Path) -> None:
    body = 'node v = rater(text, "a")\noutput v\n'
    none = RATER.replace("output pred\n", "")
    two = RATER + "output why\n"
    for rater, message in ((none, "declares no output"), (two, "declares 2 outputs")):
        result = compile_main(tmp_path, body, rater=rater)
        assert codes(result) == ["E0120"]
        assert message in result.diagnostics[0].message


def test_workflow_calls_nest(tmp_path: pathlib.Path) -> None:
    middle = '''use "rater.adf" as inner
model student = "local"
input text: str
node judged = inner(text, "m")
output judged
'''
    result = compile_main(tmp_path, 'use "middle.adf" as mid\nnode v = mid(text)\noutput v\n',
                          **{"middle.adf": middle})
    assert codes(result) == []
    assert result.plan is not None
    assert [n.id for n in result.plan.nodes] == ["v.judged.hint", "v"]
    assert [p.name for p in result.plan.params] == ["mid.inner.instruction"]


def test_a_py_function_of_a_workflow_in_another_folder_is_E0117(tmp_path: pathlib.Path) -> None:
    lib = '''input q: str
fn count(s: str) -> int = py "words:count"
node n = count(q)
output n
'''
    result = compile_main(tmp_path, 'use "lib/text.adf" as lib\nnode v = lib(text)\noutput v\n',
                          **{"lib/text.adf": lib, "lib/words.py": "def count(s):\n    return 1\n"})
    assert codes(result) == ["E0117"]


def test_programs_without_calls_of_a_use_are_unchanged(tmp_path: pathlib.Path) -> None:
    body = 'node v = rater.rate(text, text)\nloss a = std.loss.label_match(v, label)\noutput v\n'
    result = compile_main(tmp_path, body)
    assert codes(result) == [] and result.plan is not None
    assert [n.id for n in result.plan.nodes] == ["v"]


def test_graph_draws_each_call_as_a_cluster_and_fmt_keeps_the_call(tmp_path: pathlib.Path) -> None:
    from adf.analysis.dot import render_dot
    from adf.analysis.drawing import build_drawing
    from adf.syntax.fmt import format_source

    body = ('node first = rater(text, "a")\nnode second = rater(hint: "b", text: first)\n'
            "output second\n")
    result = compile_main(tmp_path, body)
    assert result.plan is not None
    dot = render_dot(build_drawing(result.plan))
    assert dot.count('label="call first"') == dot.count('label="call second"') == 1
    cluster = dot.split('label="call second"')[1].split("}")[0]
    assert '"second.hint"' in cluster and '"second"' in cluster and '"first"' not in cluster
    text = (tmp_path / "main.adf").read_text(encoding="utf-8")
    assert format_source(text) == (text, ())  # a workflow call is written like any call


def test_an_output_that_is_a_loop_state_is_read_through_the_call(tmp_path: pathlib.Path) -> None:
    stated = '''model m = "local"
input q: str
state acc: str = ""
llm f(a: str, b: str) -> str using m { user: "{a} {b}" }
loop i in 0..2 {
  node x = f(q, acc)
  acc = x
}
output acc
'''
    result = compile_main(tmp_path, "node v = rater(text)\nnode w = rater(v)\noutput w\n",
                          rater=stated)
    # the state `acc` becomes `v` (its updates `v.x@0`, `v.x@1`), read by the second call:
    # no warning that it is never read
    assert [(d.code, d.message) for d in result.diagnostics] == []
    assert result.plan is not None
    assert [o.source for o in result.plan.outputs] == ["w.x@1"]
    assert {n.id: n.inputs[1].source for n in result.plan.nodes if n.id.startswith("w.x")} == {
        "w.x@0": "w", "w.x@1": "w.x@0"}
    assert [n.inputs[0].source for n in result.plan.nodes if n.id == "w.x@0"] == ["v.x@1"]


def test_a_map_output_and_its_items_belong_to_the_call(tmp_path: pathlib.Path) -> None:
    mapped = '''model m = "local"
input q: str
const most = 2
fn lines(text: str) -> list[str] = std.text.lines
llm f(a: str) -> str using m { user: "{a}" }
node parts = lines(q)
node each = map p in parts max most => f(p)
output each
'''
    result = compile_main(tmp_path, "node v = rater(text)\noutput v\n", rater=mapped)
    assert codes(result) == []
    assert result.plan is not None
    assert {n.id: n.call for n in result.plan.nodes} == {
        "v.parts": "v", "v#0.item": "v", "v#0": "v", "v#1.item": "v", "v#1": "v", "v": "v"}


def test_dead_code_in_a_call_is_named_by_its_statement(tmp_path: pathlib.Path) -> None:
    from adf.analysis.deadcode import root_name

    result = compile_main(tmp_path, 'node v = rater(text, "a")\noutput v\n')
    assert result.plan is not None
    assert {n.id: root_name(n) for n in result.plan.nodes} == {"v.hint": "v.hint", "v": "v"}


COUNTING = '''model m = "local"
input text: str
llm f(text: str) -> str using m { user: "F {text}" }
state count: int = 0
loop i in 0..2 {
  node d = f(text)
  count = i
}
output d
'''


def test_a_state_a_used_loop_assigns_is_the_calls_own(tmp_path: pathlib.Path) -> None:
    # the used file's `count` is copied as `v.count`: never the calling file's `count`
    alone = compile_main(tmp_path, "node v = rater(text)\noutput v\n", rater=COUNTING)
    assert [(d.code, d.message) for d in alone.diagnostics] == []
    assert alone.plan is not None
    assert "v.count" in {n.id for n in alone.plan.nodes}
    unwritten = compile_main(tmp_path, "state count: int = 0\nnode v = rater(text)\noutput v\n"
                             "output count\n", rater=COUNTING)
    assert codes(unwritten) == [] and unwritten.plan is not None
    assert {o.name: o.source for o in unwritten.plan.outputs} == {"v": "v@1", "count": "count"}
    own = compile_main(tmp_path, '''state count: int = 0
loop k in 0..2 { count = count + 1 }
node v = rater(text)
output v
output count
''', rater=COUNTING)
    assert codes(own) == []
    assert own.plan is not None
    assert {o.name: o.source for o in own.plan.outputs} == {"v": "v@1", "count": "count@1"}
    assert {n.id: n.inputs[0].source for n in own.plan.nodes if n.id == "count@1"} == {
        "count@1": "count@0"}


def test_a_used_file_whose_output_is_a_target_is_E0120(tmp_path: pathlib.Path) -> None:
    target = 'input text: str\ntarget label: str\noutput label\n'
    result = compile_main(tmp_path, "node v = rater(text)\noutput v\n", rater=target)
    assert [(d.code, d.primary.span.line) for d in result.diagnostics if d.is_error] == [
        ("E0120", 5)]
    assert "is its target `label`" in result.diagnostics[0].message


def test_a_call_declared_twice_reports_only_the_duplicate_name(tmp_path: pathlib.Path) -> None:
    result = compile_main(tmp_path, 'node v = rater(text, "a")\nnode v = rater(text, "b")\n'
                          "output v\n")
    assert [(d.code, d.message) for d in result.diagnostics if d.is_error] == [
        ("E0101", "`v` is declared more than once")]


def test_a_used_file_open_in_the_editor_is_read_from_there(tmp_path: pathlib.Path) -> None:
    from adf.compiler.pipeline import compile_source

    main = HEAD + 'node v = rater(text, "a")\noutput v\n'
    unsaved = str((tmp_path / "rater.adf").resolve())  # open, never written to disk
    result = compile_source(main, str(tmp_path / "main.adf"), open_files={unsaved: RATER})
    assert codes(result) == [] and result.plan is not None
    assert [n.id for n in result.plan.nodes] == ["v.hint", "v"]
    gone = compile_source(main, str(tmp_path / "main.adf"))
    assert codes(gone) == ["E0113"]


def test_a_calls_unused_inner_nodes_are_not_warned_in_the_calling_file(
        tmp_path: pathlib.Path) -> None:
    # `why` of the loop body and the unread state are the used file's own business
    from adf.analysis.config import LintConfig
    from adf.analysis.lint import run_lints

    def lints(body: str) -> list[tuple[str, str]]:
        result = compile_main(tmp_path, body, rater=looped)
        assert result.plan is not None
        return [(d.code, d.message) for d in run_lints(result.plan, "main.adf", LintConfig())
                if d.code in ("W0504", "W0510")]

    looped = COUNTING.replace('  count = i\n', '  node why = f(d)\n  count = i\n')
    assert lints("node v = rater(text)\noutput v\n") == []
    assert lints("node v = rater(text)\nnode w = rater(text)\noutput v\n") == [
        ("W0504", "`w` is computed but never used")]
