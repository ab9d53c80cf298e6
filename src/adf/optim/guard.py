"""Cheap checks on a proposed value before any evaluation is spent on it.

Takes a proposed value, the optimizer prompt's fixed wording (`MetaText`),
the texts the proposal may legitimately repeat (current value, peers,
earlier values) and a length limit; gives `None` when the proposal may be
evaluated, else a `Rejection` whose `kind` is one of:

- `leak`: the proposal carries the optimizer's own instructions, tags or
  template headings (the failure mode where a weak optimizer model parrots
  its meta-prompt and that text is then tried as the new prompt);
- `empty`, `unchanged`, `duplicate` (already evaluated this run), `too_long`
  (would not fit the task model's context);
- `not_prose`: fewer than two words, mostly digits and punctuation, or
  program code (weak optimizers emit fragments like `.0.1` or a Python
  function; such a value can win a tiny validation set by chance, but it is
  not a prompt anyone would review and keep).

The leak test is lexical and deterministic: a tag of the optimizer format,
a copy of its listing format, or a run of consecutive words of the fixed
wording that does not also occur in the allowed texts: `ngram` (5) words
that include one of the meta prompt's own words (`MetaText.vocabulary`:
feedback, scores, examples, versions...), or `long_ngram` (8) words of any
kind. Ordinary instructions that happen to share a short phrase with the
templates ("Follow the answer format exactly.", "Keep it short and clear.")
are prompts, not leaks. A `MetaText` without a vocabulary treats every
`ngram` as a leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from adf.llm.catalogue import bound_tokens

RejectionKind = Literal[
    "leak", "empty", "unchanged", "duplicate", "too_long", "not_prose", "unparseable",
    "truncated",
]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
_CODE_LINE = re.compile(r"\s*(def |class |import |from \S+ import |return\b|"
                        r"[A-Za-z_][\w.]*\s*=\s*\S|[{}\[\]()]+;?\s*$)")
_TAG = re.compile(r"<\s*/?\s*(proposed[\s_\-]?value|reasoning|feedback|history|current)\s*>", re.I)


@attrs.frozen
class Rejection:
    kind: RejectionKind
    detail: str


@attrs.frozen
class MetaText:
    """The optimizer prompt's fixed wording: template text with every slot removed."""

    fragments: tuple[str, ...]
    markers: tuple[str, ...] = ()  # literal strings that must never appear (delimiters)
    patterns: tuple[str, ...] = ()  # regexes of the prompt's listing formats (feedback items)
    vocabulary: frozenset[str] = frozenset()  # words that mark a phrase as the meta prompt's own


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _grams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def find_leak(
    value: str, meta: MetaText, allowed: Iterable[str], *, ngram: int = 5, long_ngram: int = 8
) -> str | None:
    """A short description of the leaked text, or None."""
    allowed_list = list(allowed)
    tag = _TAG.search(value)
    if tag and not any(tag.group(0).lower() in a.lower() for a in allowed_list):
        return f"contains the optimizer tag {tag.group(0)!r}"
    for marker in meta.markers:
        if marker and marker in value and not any(marker in a for a in allowed_list):
            return f"contains the optimizer marker {marker!r}"
    for pattern in meta.patterns:
        found = re.search(pattern, value)
        if found and not any(re.search(pattern, a) for a in allowed_list):
            return f"copies the optimizer prompt's listing ({found.group(0)!r})"
    tokens = words(value)
    for size, marked in ((ngram, bool(meta.vocabulary)), (long_ngram, False)):
        proposal_grams = _grams(tokens, size)
        if not proposal_grams:
            continue
        allowed_grams: set[tuple[str, ...]] = set()
        for text in allowed_list:
            allowed_grams |= _grams(words(text), size)
        for fragment in meta.fragments:
            leaked = (_grams(words(fragment), size) & proposal_grams) - allowed_grams
            if marked:
                leaked = {g for g in leaked if meta.vocabulary.intersection(g)}
            if leaked:
                sample = " ".join(sorted(leaked)[0])
                return f"repeats the optimizer's instructions ({sample!r})"
    return None


def is_prose(text: str) -> bool:
    """At least two words of letters, letters make up at least half of the visible text, and
    it is not program code (a fenced block, or mostly lines like `def f(x):`, `return {`)."""
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    lines = [line for line in text.splitlines() if line.strip()]
    code = sum(1 for line in lines if _CODE_LINE.match(line))
    if "```" in text or (lines and code * 2 >= len(lines)):
        return False
    return len(_LETTER_WORD.findall(text)) >= 2 and letters * 2 >= len(visible)


def _normal(text: str) -> str:
    return " ".join(text.split())


def screen(
    value: str,
    *,
    current: str,
    meta: MetaText,
    allowed: Iterable[str],
    seen: Iterable[str],
    max_tokens: int | None,
) -> Rejection | None:
    """Why `value` must not be evaluated, or None when it may be."""
    if not value.strip():
        return Rejection("empty", "the proposal is empty")
    normal = _normal(value)
    if normal == _normal(current):
        return Rejection("unchanged", "the proposal equals the current value")
    if any(normal == _normal(s) for s in seen):
        return Rejection("duplicate", "the proposal was already evaluated in this run")
    if not is_prose(value):
        return Rejection("not_prose", "the proposal is not text a person would keep as a prompt")
    leak = find_leak(value, meta, [current, *allowed])
    if leak is not None:
        return Rejection("leak", leak)
    if max_tokens is not None:
        size = bound_tokens(value)
        if size > max_tokens:
            return Rejection(
                "too_long", f"about {size} tokens, more than the {max_tokens} the task model can take"
            )
    return None
