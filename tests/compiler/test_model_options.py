"""Model options are typed: the compiler checks them against the table the request builder reads."""

from __future__ import annotations

import pytest

from adf.compiler.pipeline import compile_source
from adf.diagnostics import Span
from adf.llm.protocol import Message
from adf.llm.requests import build_request
from adf.plan.model_options import OPTIONS
from adf.plan.schema import ModelDecl


def _program(options: str) -> str:
    return (
        f'model m = "openai/x" {{ {options} }}\ninput q: str\n'
        'llm a(q: str) -> str using m { user: "{q}" }\nnode n = a(q)\noutput n\n'
    )


def _diags(options: str) -> list[tuple[str, str, str]]:
    result = compile_source(_program(options), "t.adf")
    return [(d.code, d.message, d.help) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("options", "code", "words"),
    [
        ("temperture: 0", "E0212", "did you mean `temperature`?"),
        ("frobnicate: true", "E0212", "x_frobnicate"),
        ('context: "big"', "E0213", "integer"),
        ("max_tokens: -5", "E0213", "at least 1"),
        ('temperature: "hot"', "E0213", "from 0 to 2"),
        ("context: 0", "E0213", "at least 1"),
        ('temperature: "0.5"', "E0213", "drop the quotes: `temperature: 0.5`"),
        ('api_key: "sk-not-a-secret"', "E0213", "env("),
        ('temperature: env("T")', "E0213", "cannot come from the environment"),
        ('structured: "json_scheme"', "E0213", "did you mean `json_schema`?"),
        ("top_p: 1.5", "E0213", "from 0 to 1"),
        ("seed: 1.5", "E0213", "integer"),
    ],
)
def test_bad_option_gets_one_error(options: str, code: str, words: str) -> None:
    (found,) = _diags(options)
    assert found[0] == code
    assert words in found[1] + " " + found[2]


GOOD = {
    "int": "3",
    "number": "0.5",
    "bool": "true",
    "text": '"abc"',
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_known_option_checks_with_a_good_value(name: str) -> None:
    spec = OPTIONS[name]
    if spec.env == "required":
        value = 'env("SOME_VARIABLE")'
    elif spec.kind == "choice":
        value = f'"{spec.choices[0]}"'
    else:
        value = GOOD[spec.kind]
    assert _diags(f"{name}: {value}") == []


def test_provider_extra_is_sent_without_its_prefix() -> None:
    assert _diags("x_top_k: 40, x_safe_prompt: true") == []
    decl = ModelDecl("m", "openai/x", (("x_top_k", 40), ("context", 100), ("seed", 3)), Span(1, 1, 1, 2))
    request = build_request(decl, (Message("user", "hi"),))
    assert dict(request.extra) == {"top_k": 40, "seed": 3}  # context is adf's, never sent


def test_train_block_takes_roles_only() -> None:
    import argparse

    from adf.cli import train
    from adf.compiler.options import TRAIN_FLAGS

    source = _program("temperature: 0") + "train { backward: m, steps: 5 }\n"
    (d,) = compile_source(source, "t.adf").diagnostics
    assert d.code == "E0212" and "`adfc train --steps ...`" in d.help
    parser = argparse.ArgumentParser()
    train.configure(parser)
    flags = {a.dest for a in parser._actions}  # the command's own options
    assert set(TRAIN_FLAGS) <= flags


@pytest.mark.parametrize(
    ("option", "help", "note"),
    [
        ("temperture: 0", "did you mean `temperature`?", "`adfc explain E0212` lists all 15 model options"),
        ("TEMPERATURE: 0", "did you mean `temperature`?", "`adfc explain E0212` lists all 15 model options"),
        ("tmp: 1", "write `x_tmp: ...`", "the nearest are `stop`, `top_p`; `adfc explain E0212` lists all"),
        ("frobnicate: true", "write `x_frobnicate: ...`", "`adfc explain E0212` lists all 15 model options"),
    ],
)
def test_unknown_option_is_summarised_not_listed(option: str, help: str, note: str) -> None:
    """E0212 names the option meant (or the nearest few) and points at the full list."""
    (d,) = compile_source(_program(option), "t.adf").diagnostics
    assert d.code == "E0212" and help in d.help
    assert note in d.notes[0]
    assert all(len(n) < 100 for n in d.notes)  # a summary, not the table
    assert not any("reasoning_effort" in n for n in d.notes)


def test_e0212_page_lists_every_model_option() -> None:
    from adf.compiler.codes import explain  # what `adfc explain E0212` prints

    page = explain("E0212")
    assert page is not None
    assert [name for name in OPTIONS if f"`{name}`" not in page] == []
