from __future__ import annotations

from adf.runtime.backward_reply import parse_reply


def test_json_reply_keys_match_loosely() -> None:
    text = 'Sure! ```json\n{"Instruction": "be precise", "question": "fine"}\n```'
    parsed = parse_reply(text, ["instruction", "question"])
    assert parsed.texts == (("instruction", "be precise"), ("question", "fine"))
    assert parsed.missing == ()


def test_tag_and_section_fallbacks() -> None:
    tagged = "<instruction>add a step</instruction> <format>ok</format>"
    assert parse_reply(tagged, ["instruction", "format"]).get("format") == "ok"
    sections = "instruction: say count each item\nformat: end with Answer: N"
    parsed = parse_reply(sections, ["instruction", "format"])
    assert parsed.get("instruction") == "say count each item"
    assert parsed.get("format") == "end with Answer: N"


def test_missing_keys_and_garbage_are_reported_not_raised() -> None:
    parsed = parse_reply('{"instruction": "x"}', ["instruction", "format"])
    assert parsed.missing == ("format",)
    garbage = parse_reply("%%%", ["a", "b"])
    assert garbage.texts == () and garbage.missing == ("a", "b")


def test_single_key_takes_plain_text() -> None:
    assert parse_reply("Count twice.", ["instruction"]).get("instruction") == "Count twice."


def test_copied_placeholders_count_as_missing() -> None:
    parsed = parse_reply('{"examples": "...", "instruction": "<your feedback on instruction>",'
                         ' "format": "Use digits."}', ["instruction", "examples", "format"])
    assert parsed.texts == (("format", "Use digits."),)
    assert parsed.missing == ("instruction", "examples")


def test_raw_newlines_inside_json_strings_are_read() -> None:
    # constrained decoders let small models write a bare newline inside a JSON string
    parsed = parse_reply('{"instruction": "count each item\nthen add", "question": "fine"}',
                         ["instruction", "question"])
    assert parsed.get("instruction") == "count each item\nthen add"
    assert parsed.missing == ()
