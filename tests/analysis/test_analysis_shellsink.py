"""W0540: a `py` function that runs commands or code receives model output."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adf.analysis.config import LintConfig
from adf.analysis.lint import lint_plan
from adf.compiler.pipeline import compile_source
from adf.diagnostics import Diagnostic

HEAD = """model m = "local"
input question: str
target answer: str
llm propose(question: str) -> str using m { user: "{question}" }
"""


def lint(tmp_path: Path, body: str, modules: dict[str, str] | None = None) -> list[Diagnostic]:
    for name, text in (modules or {}).items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    source = HEAD + textwrap.dedent(body)
    path = str(tmp_path / "w.adf")
    result = compile_source(source, path, base_dir=str(tmp_path))
    assert result.plan is not None, [d.message for d in result.diagnostics]
    return [d for d in lint_plan(result.plan, path, source, LintConfig(), result.diagnostics)
            if d.code == "W0540"]


FED = """fn act({param}: str) -> str = py "{ref}"
node pred = act(propose(question))
loss acc = std.loss.exact_match(pred, answer)
output pred
"""


@pytest.mark.parametrize(("ref", "param"), [
    ("os:system", "command"), ("subprocess:getoutput", "cmd"), ("builtins:eval", "source"),
    ("pty:spawn", "argv"),
])
def test_a_known_entry_point_fed_by_a_reply_is_reported(tmp_path: Path, ref: str, param: str) -> None:
    found = lint(tmp_path, FED.format(ref=ref, param=param))
    assert len(found) == 1
    assert f"`{ref}`" in found[0].message
    assert found[0].primary.span.line == 5  # the `fn` line, where `# adf: allow` goes
    assert "the reply of `propose`" in [label.message for label in found[0].secondary]


@pytest.mark.parametrize("module", [
    "from subprocess import run as r\n",
    "import subprocess\nr = subprocess.run\n",
    "import os as o\nr = o.popen\n",
    "r = eval\n",
])
def test_an_alias_of_an_entry_point_is_reported(tmp_path: Path, module: str) -> None:
    found = lint(tmp_path, FED.format(ref="tools:r", param="cmd"), {"tools": module})
    assert len(found) == 1
    assert "`tools:r` (that is `" in found[0].message


@pytest.mark.parametrize("body", [
    "def go(cmd):\n    return subprocess.check_output(cmd, shell=True)\n",
    "def go(cmd):\n    full = 'ls ' + cmd\n    return subprocess.run(full, shell=True).stdout\n",
    "def go(cmd):\n    return str(eval(cmd))\n",
    "def go(cmd):\n    return sh(['bash', '-c', cmd])\n",
    "def go(*, cmd):\n    os.system(f'echo {cmd}')\n    return ''\n",
])
def test_a_function_calling_an_entry_point_with_its_parameter_is_reported(
    tmp_path: Path, body: str
) -> None:
    module = "import os\nimport subprocess\nfrom subprocess import getoutput as sh\n\n" + body
    found = lint(tmp_path, FED.format(ref="tools:go", param="cmd"), {"tools": module})
    assert len(found) == 1
    assert "passes its parameter `cmd` to `" in found[0].message


def test_a_value_fed_through_other_nodes_still_counts(tmp_path: Path) -> None:
    body = """fn clean(text: str) -> str = std.parse.strip
    fn act(cmd: str) -> str = py "os:system"
    node pred = act(clean(propose(question)))
    loss acc = std.loss.exact_match(pred, answer)
    output pred
    """
    assert len(lint(tmp_path, body)) == 1


def test_a_metric_that_evaluates_the_prediction_is_reported(tmp_path: Path) -> None:
    module = "def score(pred, target):\n    return float(eval(pred) == eval(target))\n"
    body = """node pred = propose(question)
    loss acc = py "judge:score"(pred, answer)
    output pred
    """
    found = lint(tmp_path, body, {"judge": module})
    assert len(found) == 1 and "loss acc" in found[0].message


def test_a_function_fed_only_by_data_is_not_reported(tmp_path: Path) -> None:
    body = """fn act(cmd: str) -> str = py "os:system"
    node ran = act(question)
    node pred = propose(question)
    loss acc = std.loss.exact_match(pred, answer)
    output pred
    output ran
    """
    assert lint(tmp_path, body) == []


@pytest.mark.parametrize("body", [
    "def go(cmd):\n    return subprocess.run(['ls'], capture_output=True).stdout.decode() + cmd\n",
    "def go(cmd):\n    return cmd.upper()\n",
    "def go(cmd):\n    return json.dumps(cmd)\n",
])
def test_a_harmless_function_fed_by_a_reply_is_not_reported(tmp_path: Path, body: str) -> None:
    module = "import json\nimport subprocess\n\n" + body
    assert lint(tmp_path, FED.format(ref="tools:go", param="cmd"), {"tools": module}) == []


def test_the_warning_can_be_allowed_on_the_fn_line(tmp_path: Path) -> None:
    body = FED.format(ref="os:system", param="command").replace('"os:system"', '"os:system"  # adf: allow W0540')
    assert lint(tmp_path, body) == []


def test_checking_imports_no_user_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    module = f"open({str(marker)!r}, 'w').close()\nimport subprocess\nr = subprocess.run\n"
    assert len(lint(tmp_path, FED.format(ref="tools:r", param="cmd"), {"tools": module})) == 1
    assert not marker.exists()


def test_os_system_and_a_builtin_alias_bind_without_a_false_error(tmp_path: Path) -> None:
    # `os` imports `system` from `posix` under an `if`, and `r = eval` names a builtin:
    # neither can be read statically, which is a W0402 warning, never "no such function"
    (tmp_path / "tools.py").write_text("r = eval\n")
    for ref in ("os:system", "tools:r"):
        source = HEAD + f'fn act(source: str) -> str = py "{ref}"\nnode pred = act(question)\noutput pred\n'
        result = compile_source(source, str(tmp_path / "w.adf"), base_dir=str(tmp_path))
        assert result.plan is not None
        assert [d.code for d in result.diagnostics] == ["W0402"]


AGENT = """fn shell(cmd: str) -> str = py "{ref}"
fn final_answer(answer: str) -> str = std.tools.final_answer
llm act(question: str) -> tool_call using m {{
  user: "{{question}}"
  tools: [shell: "run one command", final_answer: "give the answer"]
  finish: [final_answer]
}}
node call = act(question)
node pred = call.result
loss acc = std.loss.exact_match(pred, answer)
output pred
"""


def test_a_tool_that_runs_commands_is_reported_its_arguments_are_the_models(tmp_path: Path) -> None:
    module = "import subprocess\nr = subprocess.getoutput\n"
    found = lint(tmp_path, AGENT.format(ref="tools:r"), {"tools": module})
    assert len(found) == 1
    assert "fn `shell`" in found[0].message and "subprocess:getoutput" in found[0].message
    assert found[0].primary.span.line == 5  # the tool's `fn` line
    assert [label.message for label in found[0].secondary] == ["the reply of `act`"]


def test_a_harmless_tool_is_not_reported(tmp_path: Path) -> None:
    module = "def r(cmd: str) -> str:\n    return cmd.upper()\n"
    assert lint(tmp_path, AGENT.format(ref="tools:r"), {"tools": module}) == []
