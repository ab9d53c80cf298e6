"""How many tokens a model can take, and how many a prompt needs.

Takes a `ResolvedModel` (or a litellm model string) and texts; gives
`context_window` (the declared `context` option, else litellm's price map,
else None) and conservative token estimates for texts and chat messages.

litellm's price map is read from the JSON file litellm ships, without
importing litellm (which takes seconds), so `adfc check` can use it. The
estimate is deliberately pessimistic (about 3 characters a token, plus a few
tokens of chat framing per message) so that a prompt fitted to it does not
overflow a real tokenizer.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adf.llm.protocol import Message

if TYPE_CHECKING:
    from adf.llm.models import ResolvedModel

CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 4  # role markers and separators of one chat message
_PRICE_MAP = "model_prices_and_context_window_backup.json"


def estimate_tokens(text: str) -> int:
    """A conservative token count for `text` (0 for empty text)."""
    if not text:
        return 0
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_messages(messages: Iterable[Message]) -> int:
    """A conservative token count for a chat prompt, framing included."""
    total = 2  # the assistant turn's opening
    for message in messages:
        total += MESSAGE_OVERHEAD + estimate_tokens(message.content)
    return total


def context_window(model: ResolvedModel | str) -> int | None:
    """The model's context window in tokens, or None when nobody knows it."""
    if isinstance(model, str):
        return known_context(model)
    if model.context is not None:
        return model.context
    return known_context(model.model)


def known_context(model: str) -> int | None:
    """The context window litellm's price map gives for a litellm model string."""
    entry = _lookup(model)
    if entry is None:
        return None
    for field in ("max_input_tokens", "max_tokens"):
        value = entry.get(field)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _lookup(model: str) -> Mapping[str, Any] | None:
    table = _price_map()
    entry = table.get(model)
    if entry is None and "/" in model:
        provider, rest = model.split("/", 1)
        candidate = table.get(rest)
        if candidate is not None and candidate.get("litellm_provider") in (provider, None):
            entry = candidate
    return entry if isinstance(entry, Mapping) else None


@functools.cache
def _price_map() -> Mapping[str, Mapping[str, Any]]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _PRICE_MAP
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {}
