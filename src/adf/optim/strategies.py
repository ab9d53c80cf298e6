"""The names of the candidate-selection strategies, in one light module.

Takes nothing; gives `Strategy` (the type) and `STRATEGIES` (the names,
default first), so `adfc train`'s flag, the workflow layer's option check
and the trainer agree without the CLI importing the trainer. What each one
does is in `prompt_step.py` (within a step) and `candidates.py` (`pool`,
across steps).
"""

from __future__ import annotations

from typing import Literal

Strategy = Literal["joint", "sequential", "pool"]
STRATEGIES: tuple[Strategy, ...] = ("joint", "sequential", "pool")
