"""The tolerant proposal parser, the leak guard and the sanity filter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adf.optim.guard import MetaText, find_leak, screen
from adf.optim.proposal import ParseFailure, Proposal, parse_proposal
from adf.optim.tgd import meta_text


def value_of(text: str) -> str:
    parsed = parse_proposal(text)
    assert isinstance(parsed, Proposal), parsed
    return parsed.value


def test_tags_json_and_their_variants() -> None:
    assert value_of("<reasoning>r</reasoning><proposed_value>New text.</proposed_value>") == "New text."
    assert value_of("<Proposed Value>\n  Spaced  \n</Proposed Value>") == "Spaced"
    assert value_of("<proposed-value>dash</proposed-value>") == "dash"
    assert value_of('{"reasoning": "r", "proposed_value": "From JSON."}') == "From JSON."
    assert value_of('Sure!\n```json\n{"new_value": "fenced"}\n```') == "fenced"
    assert value_of("<proposed_value>```\nCount each item.\n```</proposed_value>") == "Count each item."
    assert value_of('<proposed_value>"quoted"</proposed_value>') == "quoted"


def test_unclosed_tag_takes_the_rest() -> None:
    parsed = parse_proposal("<reasoning>x</reasoning>\n<proposed_value>Count slowly.\nThen answer.")
    assert isinstance(parsed, Proposal)
    assert parsed.value == "Count slowly.\nThen answer."
    assert parsed.form == "tags-unclosed"


def test_echoed_format_is_skipped_for_the_real_value() -> None:
    text = ("Format: <proposed_value>the complete new text of the part</proposed_value>\n"
            "<proposed_value>Count every object.</proposed_value>")
    assert value_of(text) == "Count every object."


def test_failures_are_values() -> None:
    for text in ("", "   ", "no tags at all", "<proposed_value></proposed_value>",
                 "<proposed_value>the complete new text of the part</proposed_value>", '{"a": 1}'):
        assert isinstance(parse_proposal(text), ParseFailure), text
    assert isinstance(parse_proposal(None), ParseFailure)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/_{}\"' \n`abc:proposed_valuereasoning[]")),
               max_size=200))
def test_parser_never_raises(text: str) -> None:
    result = parse_proposal(text)
    assert isinstance(result, Proposal | ParseFailure)
    if isinstance(result, Proposal):
        assert result.value.strip()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_tagged_text_round_trips(value: str) -> None:
    clean = value.strip()
    if not clean or "<" in clean or clean.startswith(("`", '"', "'", "}", "]")) or clean.endswith(
            ("`", '"', "'")):
        return
    if clean.lower().strip(" .") == "the complete new text of the part":
        return
    assert value_of(f"<proposed_value>{value}</proposed_value>") == clean


def test_leak_guard_catches_parroted_instructions() -> None:
    meta = meta_text()
    leaked = "Fix the problems seen on training examples. Count every item."
    assert find_leak(leaked, meta, ["Answer the question."]) is not None
    assert find_leak("<proposed_value>x", meta, []) is not None
    assert find_leak("PROBLEMS SEEN ON TRAINING EXAMPLES: count", meta, []) is not None
    assert find_leak("Count every object in the list, then give the total.", meta, []) is None


def test_leak_guard_allows_text_the_user_already_had() -> None:
    meta = MetaText(("Keep what already works and keep it short",))
    current = "Keep what already works and keep it short. Answer with a number."
    assert find_leak(current + " Be exact.", meta, [current]) is None
    assert find_leak("keep what already works and keep it short", meta, []) is not None


def test_sanity_filter() -> None:
    meta = MetaText(())
    common = {"current": "Answer.", "meta": meta, "allowed": [], "seen": ["Tried before."]}
    assert screen("  ", max_tokens=50, **common).kind == "empty"  # type: ignore[union-attr]
    assert screen("Answer. ", max_tokens=50, **common).kind == "unchanged"  # type: ignore[union-attr]
    assert screen("Tried  before.", max_tokens=50, **common).kind == "duplicate"  # type: ignore[union-attr]
    assert screen("word " * 200, max_tokens=50, **common).kind == "too_long"  # type: ignore[union-attr]
    assert screen("Count carefully.", max_tokens=50, **common) is None
    assert screen(".0.1", max_tokens=50, **common).kind == "not_prose"  # type: ignore[union-attr]
    assert screen("x = 1; y = 2; 3.14", max_tokens=50, **common).kind == "not_prose"  # type: ignore[union-attr]
    assert screen("Solve.", max_tokens=50, **common).kind == "not_prose"  # type: ignore[union-attr]


def test_constrained_small_model_replies() -> None:
    raw_newline = '{ "proposed_value": "}\n\nCount each item.\nThen add.", "reasoning": "r" }'
    assert value_of(raw_newline) == "Count each item.\nThen add."
    cut_after_value = '{"proposed_value": "Count \\"each\\" item.", "reasoning": "because'
    parsed = parse_proposal(cut_after_value)
    assert isinstance(parsed, Proposal) and parsed.value == 'Count "each" item.'
    cut_inside = '{"proposed_value": "Count each ite'
    failure = parse_proposal(cut_inside)
    assert isinstance(failure, ParseFailure) and "cut off" in failure.reason


def test_copied_feedback_listing_is_a_leak() -> None:
    meta = meta_text()
    copied = "[1] example object-counting-49, score 0.00:\n  - count better"
    assert find_leak(copied, meta, ["Answer."]) is not None
