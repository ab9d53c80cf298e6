"""One placeholder grammar: what the checker accepts is exactly what the renderer fills."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adf.compiler.pipeline import compile_source
from adf.plan import placeholders
from adf.runtime.template import fill


def test_scan_covers_the_text() -> None:
    text = "a {x} {{y}} { z } {} } {"
    pieces = placeholders.scan(text)
    assert "".join(text[p.start : p.end] for p in pieces) == text
    assert [p.kind for p in pieces if p.kind != "text"] == [
        "hole", "brace", "brace", "malformed", "malformed", "malformed", "malformed"
    ]
    assert placeholders.holes(text) == ("x",)


def test_spaces_inside_braces_are_reported_with_the_fix() -> None:
    source = 'model m = "x"\ninput question: str\nllm a(question: str) -> str using m { user: "Q: { question }" }\nnode n = a(question)\noutput n\n'
    (d,) = compile_source(source, "t.adf").diagnostics
    assert d.code == "E0208"
    assert "spaces inside the braces" in d.message
    assert "`{question}`" in d.help


def test_param_used_as_placeholder_says_how_to_list_it() -> None:
    source = 'model m = "x"\nparam p: prompt = "hi"\ninput q: str\nllm a(q: str) -> str using m { user: "{q} {p}" }\nnode n = a(q)\noutput n\n'
    (d,) = [d for d in compile_source(source, "t.adf").diagnostics if d.code == "E0207"]
    assert "user: [p," in d.help


ALPHABET = st.sampled_from(["{", "}", " ", "x", "y", "_", "1", "a", "{{", "}}", "{x}", "{ x }", "\n"])


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(ALPHABET, max_size=12).map("".join))
def test_checker_and_renderer_agree(body: str) -> None:
    """A template that checks clean has every brace accounted for after rendering."""
    quoted = body.replace("\\", "").replace('"', "")
    source = (
        'model m = "x"\ninput x: str\ninput y: str\n'
        f'llm a(x: str, y: str) -> str using m {{ user: """{quoted} {{x}}{{y}}""" }}\n'
        "node n = a(x, y)\noutput n\n"
    )
    errors = [d for d in compile_source(source, "t.adf").diagnostics if d.is_error]
    rendered = fill(quoted, {"x": "VALUE_X", "y": "VALUE_Y"})
    pieces = placeholders.scan(quoted)
    if not errors:
        # clean: no malformed text, so every placeholder was filled and every brace was an escape
        assert all(p.kind != "malformed" for p in pieces)
        assert rendered.count("{") == sum(1 for p in pieces if p.value == "{")
        assert "{x}" not in rendered.replace("{{", "")
    else:
        assert any(p.kind == "malformed" for p in pieces) or any(
            d.code != "E0208" for d in errors
        )
