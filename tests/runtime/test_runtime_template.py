from __future__ import annotations

from adf.llm.protocol import Message
from adf.plan.schema import Demo, LlmSpec, TemplatePart
from adf.runtime.template import fill, render_messages


def spec(system: tuple[TemplatePart, ...], user: tuple[TemplatePart, ...]) -> LlmSpec:
    return LlmSpec("f", "m", system, user)


def test_fill_replaces_each_placeholder_once() -> None:
    # a brace in the data is text: it is not expanded again
    out = fill("Q: {question} / {other}", {"question": "what is {other}?", "other": "X"})
    assert out == "Q: what is {other}? / X"


def test_fill_keeps_unknown_names_and_unescapes_double_braces() -> None:
    assert fill("{{literal}} {missing} {a}", {"a": 1}) == "{literal} {missing} 1"


def test_messages_from_params_demos_and_text() -> None:
    system = (TemplatePart("param", param="instruction"), TemplatePart("param", param="ex"),
              TemplatePart("text", text="Be brief."))
    user = (TemplatePart("text", text="Question: {question}"),)
    params = {"instruction": "Count {things}.",
              "ex": (Demo((("question", "2+2"), ("answer", "4"))),)}
    messages = render_messages(spec(system, user), params, {"question": "{x}", "things": "no"})
    assert messages == (
        Message("system", "Count {things}.\n\nExamples:\n\nExample 1:\nquestion: 2+2\n"
                          "answer: 4\n\nBe brief."),
        Message("user", "Question: {x}"),
    )


def test_empty_parts_and_empty_system_are_dropped() -> None:
    system = (TemplatePart("param", param="ex"),)
    user = (TemplatePart("text", text="{q}"),)
    messages = render_messages(spec(system, user), {"ex": ()}, {"q": ["a", "b"]})
    assert messages == (Message("user", "- a\n- b"),)
