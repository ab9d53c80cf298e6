"""Textual gradients: frozen feedback records with provenance.

Takes nothing; gives `Feedback` (text for one trainable parameter, saying
which sample, node, time step, `map` item and loss it came from and the
sample's score),
`BackwardFailure` (a backward-engine reply that could not be used) and
`order_feedback`, the one ordering every consumer sees: samples in the order
they were evaluated, then forward execution order of the node that produced
the feedback (so a parameter shared across loop steps gets step 0 before
step 1), then the parameter's position in the plan. Feedback lives in tuples,
never in sets.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Feedback:
    param: str
    sample: str
    node: str
    step: int | None
    score: float
    text: str
    loss: str = ""  # the loss whose failure this feedback explains
    sample_index: int = 0  # position of the sample in the evaluated batch
    node_index: int = 0  # position of the node in the plan's topological order
    item: int | None = None  # the `map` item the node worked on


@attrs.frozen
class BackwardFailure:
    """A backward call whose reply could not be used (fully or for some targets)."""

    sample: str
    node: str
    message: str


def order_feedback(items: Iterable[Feedback], param_order: Iterable[str]) -> tuple[Feedback, ...]:
    rank = {name: index for index, name in enumerate(param_order)}
    return tuple(
        sorted(items, key=lambda f: (f.sample_index, f.node_index, rank.get(f.param, len(rank))))
    )
