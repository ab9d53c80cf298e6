"""Parse an optimizer model's reply into a proposed parameter value.

Takes the raw reply text; gives a `Proposal` (the new value, the model's
reasoning, and which form was recognised) or a `ParseFailure` (one line
saying why not). Never raises: a reply that cannot be read is a rejected
proposal, not a crash.

Forms accepted, in order:
1. a JSON object (bare, in a ```json fence, or embedded in prose) with a
   string field `proposed_value` (aliases: `new_value`, `value`, `prompt`,
   `proposal`) and optionally `reasoning`; this is what a provider honouring
   the JSON schema returns;
2. tags, case-insensitive, tolerant of spaces and `-`/space for `_`:
   `<proposed_value>...</proposed_value>`; when several are present the last
   non-placeholder one wins (small models often echo the format first); an
   unclosed final tag takes the rest of the reply.
The value is trimmed, and a fence or matching quotes wrapped around the whole
value are removed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import attrs

VALUE_TAG = "proposed_value"
REASONING_TAG = "reasoning"
VALUE_KEYS = ("proposed_value", "new_value", "value", "prompt", "proposal", "new_prompt")
REASONING_KEYS = ("reasoning", "reason", "analysis", "rationale")

# The placeholder the optimizer template shows inside the tags; an echo of it is no proposal.
PLACEHOLDER = "the complete new text of the part"

ProposalForm = Literal["json", "json-partial", "tags", "tags-unclosed"]

# The reasoning comes first so the model works out what to change before it writes the
# value (the reply cap leaves room for both; a cut-off value is a `truncated` rejection).
PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "proposed_value": {"type": "string"},
    },
    "required": ["reasoning", "proposed_value"],
    "additionalProperties": False,
}


@attrs.frozen
class Proposal:
    value: str
    reasoning: str
    form: ProposalForm


@attrs.frozen
class ParseFailure:
    reason: str
    excerpt: str
    truncated: bool = False  # the reply had the right shape but ran out of tokens in the value


def _tag_name(name: str) -> str:
    return name.replace("_", r"[\s_\-]?")


def _open(name: str) -> str:
    return r"<\s*" + _tag_name(name) + r"\s*>"


def _close(name: str) -> str:
    return r"<\s*/\s*" + _tag_name(name) + r"\s*>"


_VALUE_PAIR = re.compile(_open(VALUE_TAG) + r"(.*?)" + _close(VALUE_TAG), re.I | re.S)
_VALUE_OPEN = re.compile(_open(VALUE_TAG), re.I)
_REASON_PAIR = re.compile(_open(REASONING_TAG) + r"(.*?)" + _close(REASONING_TAG), re.I | re.S)
_ANY_TAG = re.compile(r"<\s*/?\s*[A-Za-z][\w\s\-]{0,30}>")
_FENCE = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_WRAPPING_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(.*?)\n?```\Z", re.S)
_STRAY_CLOSERS = re.compile(r"\A[}\]]+\s+")
_JSON_VALUE = re.compile(
    r'"(?:' + "|".join(VALUE_KEYS) + r')"\s*:\s*"((?:[^"\\]|\\.)*)(")?', re.I | re.S
)


def parse_proposal(text: object) -> Proposal | ParseFailure:
    """The proposal in `text`, or why there is none. Never raises."""
    try:
        return _parse(text)
    except Exception as exc:  # defensive: a parser bug must not end a training run
        return ParseFailure(f"unreadable reply ({type(exc).__name__})", _excerpt(str(text)))


def _parse(text: object) -> Proposal | ParseFailure:
    if not isinstance(text, str):
        return ParseFailure("the reply is not text", "")
    if not text.strip():
        return ParseFailure("the reply is empty", "")
    from_json = _from_json(text)
    if isinstance(from_json, Proposal):
        return from_json
    reasoning = _reasoning(text)
    pairs = [m.group(1) for m in _VALUE_PAIR.finditer(text)]
    candidates = [clean_value(p) for p in pairs]
    real = [c for c in candidates if c and not _is_placeholder(c)]
    if real:
        return Proposal(real[-1], reasoning, "tags")
    # an unclosed tag after the last closed pair: take the rest of the reply
    last_close = 0
    for match in _VALUE_PAIR.finditer(text):
        last_close = match.end()
    opened = [m for m in _VALUE_OPEN.finditer(text) if m.start() >= last_close]
    if opened:
        rest = text[opened[-1].end():]
        rest = _ANY_TAG.split(rest, maxsplit=1)[0] if _ANY_TAG.search(rest) else rest
        value = clean_value(rest)
        if value and not _is_placeholder(value):
            return Proposal(value, reasoning, "tags-unclosed")
    if pairs or opened:
        return ParseFailure("the <proposed_value> tag is empty or only repeats the format", _excerpt(text))
    if from_json is not None:
        return from_json
    return ParseFailure("no <proposed_value> tag and no JSON object in the reply", _excerpt(text))


def _from_json(text: str) -> Proposal | ParseFailure | None:
    for blob in _json_candidates(text):
        try:
            data = json.loads(blob, strict=False)  # raw newlines inside strings are common
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            continue
        if not isinstance(data, dict):
            continue
        value = _first_str(data, VALUE_KEYS)
        if value is None:
            continue
        cleaned = clean_value(value)
        if not cleaned or _is_placeholder(cleaned):
            continue
        return Proposal(cleaned, (_first_str(data, REASONING_KEYS) or "").strip(), "json")
    return _from_broken_json(text)


def _from_broken_json(text: str) -> Proposal | ParseFailure | None:
    """A complete "proposed_value" string inside JSON that is otherwise broken or cut off."""
    match = _JSON_VALUE.search(text)
    if match is None:
        return None
    if match.group(2) is None:
        return ParseFailure("the reply was cut off inside the proposed value (token limit)",
                            _excerpt(text), truncated=True)
    try:
        value = json.loads('"' + match.group(1) + '"', strict=False)
    except ValueError:
        value = match.group(1)
    cleaned = clean_value(value)
    if not cleaned or _is_placeholder(cleaned):
        return None
    return Proposal(cleaned, "", "json-partial")


def _json_candidates(text: str) -> list[str]:
    stripped = text.strip()
    found = [stripped]
    found += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        found.append(text[start:end + 1])
    return [f for f in found if f.startswith("{")]


def _first_str(data: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, str):
            return value
    return None


def _reasoning(text: str) -> str:
    match = _REASON_PAIR.search(text)
    return match.group(1).strip() if match else ""


def clean_value(value: str) -> str:
    """Trim a proposed value and unwrap one enclosing fence or pair of quotes."""
    value = value.strip()
    value = _STRAY_CLOSERS.sub("", value)  # a constrained small model may open with "}\n"
    fence = _WRAPPING_FENCE.match(value)
    if fence:
        value = fence.group(1).strip()
    for quote in ('"""', "'''", '"', "'", "`"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            inner = value[len(quote):-len(quote)]
            if quote not in inner:
                value = inner.strip()
            break
    return value


def _is_placeholder(value: str) -> bool:
    return " ".join(value.lower().split()).strip(" .") == PLACEHOLDER


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
