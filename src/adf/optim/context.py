"""Fit a prompt built from prioritized sections into a model's context window.

Takes the token cost of a prompt's fixed part, its optional sections (each a
list of whole items in priority order: worst samples first, latest history
first) and a token budget; gives which items of each section are kept and a
`Trim` record for every section that lost items. Items are dropped whole,
never cut mid-text; within a section the kept items are always a prefix of
its priority order. Sections are filled round-robin in the order given, so
the most important item of every section gets in before the second item of
any section.

Token counts are `adf.llm.catalogue.bound_tokens`, deliberately pessimistic
so a fitted prompt does not overflow a real tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from adf.llm.catalogue import bound_tokens


@attrs.frozen
class Section:
    name: str
    items: tuple[str, ...]  # priority order, most important first


@attrs.frozen
class Trim:
    """A section that lost items to fit the context."""

    section: str
    kept: int
    total: int
    dropped_tokens: int

    def describe(self) -> str:
        return f"{self.section}: kept {self.kept} of {self.total} (dropped ~{self.dropped_tokens} tokens)"


@attrs.frozen
class Fit:
    kept: dict[str, tuple[str, ...]]
    trims: tuple[Trim, ...]
    tokens: int
    fits: bool  # False when even the fixed part exceeds the budget


def fit_sections(fixed_tokens: int, sections: Sequence[Section], budget: int) -> Fit:
    used = fixed_tokens
    kept: dict[str, list[str]] = {s.name: [] for s in sections}
    closed: set[str] = set()
    if fixed_tokens > budget:
        dropped_all = tuple(
            Trim(s.name, 0, len(s.items), sum(bound_tokens(i) for i in s.items))
            for s in sections if s.items
        )
        return Fit({s.name: () for s in sections}, dropped_all, fixed_tokens, False)
    depth = 0
    longest = max((len(s.items) for s in sections), default=0)
    while depth < longest:
        for section in sections:
            if section.name in closed or depth >= len(section.items):
                continue
            cost = bound_tokens(section.items[depth]) + 2
            if used + cost <= budget:
                kept[section.name].append(section.items[depth])
                used += cost
            else:
                closed.add(section.name)
        depth += 1
    trims: list[Trim] = []
    for section in sections:
        count = len(kept[section.name])
        if count < len(section.items):
            dropped = sum(bound_tokens(i) for i in section.items[count:])
            trims.append(Trim(section.name, count, len(section.items), dropped))
    return Fit({k: tuple(v) for k, v in kept.items()}, tuple(trims), used, True)
