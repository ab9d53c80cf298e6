"""What adf knows about a model: the one home of every model fact.

Takes a model (a plan's `ModelDecl`, a `ResolvedModel` or a litellm model
string) or texts; gives
- `is_local`: whether the string names adf's own llama.cpp server
  (`"local"` in a `.adf` file, `openai/local` once resolved);
- `context_window`: the declared `context` option, else 2048 for the local
  model (the context its server starts with), else litellm's table, else None;
- token estimates: `estimate_tokens` (characters / 4, the plain estimate
  used by forecasts and reports) and `bound_tokens` / `bound_messages`
  (characters / 3 plus chat framing, deliberately pessimistic so a prompt
  fitted to them does not overflow a real tokenizer);
- `price`: dollars per prompt and completion token (the local model is free;
  None when unknown);
- `schema_form`: which structured-output form a provider honours;
- `role_model` and `default_model`: the declared model playing a training
  role;
- `litellm_knows`: whether litellm's table has the model (`adf.llm.connections`
  sends only models it does not know over litellm's generic HTTP route).

litellm's table is read from the JSON file litellm ships, without importing
litellm (which takes seconds), so `adfc check` and `adfc cost` can use it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from adf.llm.records import Price as Price
from adf.plan.schema import ModelDecl, OptionValue, Plan

if TYPE_CHECKING:
    from adf.llm.models import ResolvedModel
    from adf.llm.protocol import Message

LOCAL = "local"  # the model string of adf's own server in a .adf file
LOCAL_MODEL = "openai/local"  # the same, as litellm is asked for it
DEFAULT_LOCAL_CONTEXT = 2048  # the context the local server starts with unless declared
DEFAULT_REPLY_TOKENS = 256  # assumed reply cap when a model declares no max_tokens
CHARS_PER_TOKEN = 4  # the plain estimate (English text, BPE tokenizers)
BOUND_CHARS_PER_TOKEN = 3  # pessimistic: text fitted to this does not overflow
MESSAGE_OVERHEAD = 4  # role markers and separators of one chat message
_PRICE_MAP = "model_prices_and_context_window_backup.json"

SchemaForm = Literal["json_schema", "json_object", "none"]
SCHEMA_FORMS: frozenset[str] = frozenset({"json_schema", "json_object", "none"})
Role = Literal["backward", "optimizer", "teacher"]
ROLES: tuple[Role, ...] = ("backward", "optimizer", "teacher")


# --- which model -------------------------------------------------------------------


def is_local(model: str) -> bool:
    """Whether a model string names adf's own llama.cpp server."""
    return model in (LOCAL, LOCAL_MODEL)


def role_model(plan: Plan, role: Role) -> ModelDecl | None:
    """The declared model playing a training role.

    Without a `train` block the optimizer is `default_model`; the backward
    engine is then each llm node's own model and there is no teacher (None).
    """
    training = plan.training
    name: str | None = None
    if training is not None:
        name = {"backward": training.backward_model, "optimizer": training.optimizer_model,
                "teacher": training.teacher_model}[role]
    if name:
        return plan.model(name)
    if role == "optimizer" and plan.models:
        return default_model(plan)
    return None


def default_model(plan: Plan) -> ModelDecl:
    """The model of the first llm node (or the first declared model)."""
    for node in plan.nodes:
        if node.llm is not None:
            return plan.model(node.llm.model)
    return plan.models[0]


# --- sizes ---------------------------------------------------------------------------


def context_window(model: ModelDecl | ResolvedModel | str) -> int | None:
    """The model's context window in tokens, or None when nobody knows it."""
    if isinstance(model, str):
        name, declared = model, None
    elif isinstance(model, ModelDecl):
        name, declared = model.model, positive_int(dict(model.options).get("context"))
    else:
        name, declared = model.model, model.context
    if declared is not None:
        return declared
    if is_local(name):
        return DEFAULT_LOCAL_CONTEXT
    return _known_context(name)


def reply_cap(model: ModelDecl) -> int:
    """The declared `max_tokens`, else `DEFAULT_REPLY_TOKENS`."""
    return positive_int(dict(model.options).get("max_tokens")) or DEFAULT_REPLY_TOKENS


def positive_int(value: OptionValue | None) -> int | None:
    """An option's value when it is a positive integer (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def estimate_tokens(text: str) -> int:
    """The plain token estimate: characters / 4, rounded up (0 for empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def bound_tokens(text: str) -> int:
    """A pessimistic token count for `text` (characters / 3; 0 for empty text)."""
    return math.ceil(len(text) / BOUND_CHARS_PER_TOKEN) if text else 0


def bound_messages(messages: Iterable[Message]) -> int:
    """A pessimistic token count for a chat prompt, framing included."""
    total = 2  # the assistant turn's opening
    for message in messages:
        total += MESSAGE_OVERHEAD + bound_tokens(message.content)
    return total


# --- price ---------------------------------------------------------------------------


FREE = Price(0.0, 0.0)


@functools.cache
def price(model: str) -> Price | None:
    """Dollars per token from litellm's table; the local model is free; None if unknown."""
    if is_local(model):
        return FREE
    entry = _lookup(model)
    if entry is None:
        return None
    prompt = entry.get("input_cost_per_token")
    completion = entry.get("output_cost_per_token")
    cached = entry.get("cache_read_input_token_cost")
    if isinstance(prompt, int | float) and isinstance(completion, int | float):
        return Price(float(prompt), float(completion),
                     float(cached) if isinstance(cached, int | float) else None)
    return None


# --- structured output ---------------------------------------------------------------


def schema_form(model: str, forced: object = None) -> SchemaForm:
    """The `response_format` form a provider honours for a JSON schema.

    `forced` is the model's `structured` option when set ("json_schema",
    "json_object" or "none"); adf's local server takes `json_object` with a
    schema; otherwise `json_schema` when litellm knows the model supports it.
    """
    if isinstance(forced, str) and forced in SCHEMA_FORMS:
        return forced  # type: ignore[return-value]
    if is_local(model):
        return "json_object"
    return "json_schema" if _supports_schema(model) else "none"


@functools.cache
def _supports_schema(model: str) -> bool:
    from adf.llm.provider import load_litellm

    try:
        return bool(load_litellm().supports_response_schema(model=model))
    except Exception:
        return False


# --- litellm's table -----------------------------------------------------------------


def litellm_knows(model: str) -> bool:
    """Whether litellm's model table has the model (it may then apply per-model rules)."""
    return _lookup(model) is not None


@functools.cache
def openai_rules(model: str) -> bool:
    """Whether litellm applies per-model rules of OpenAI's to `openai/<name>` (true on any
    doubt): its o-series, gpt-5 and gpt-audio rules go by the name's pattern, so they reach
    names its table lacks (`openai/gpt-5-nano-ft`, `openai/openai/o4-mini`). Asks litellm's
    own choice of its request transform for the name."""
    from adf.llm.provider import load_litellm

    name = model.removeprefix("openai/")
    try:
        litellm = load_litellm()
        from litellm.llms.openai.chat.gpt_transformation import OpenAIUnknownModelConfig
        from litellm.types.utils import LlmProviders
        from litellm.utils import ProviderConfigManager

        config = ProviderConfigManager.get_provider_chat_config(name, LlmProviders.OPENAI)
        return not isinstance(config, OpenAIUnknownModelConfig) or bool(
            litellm.openAIGPTAudioConfig.is_model_gpt_audio_model(model=name))
    except Exception:
        return True


def _known_context(model: str) -> int | None:
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
    import importlib.util  # here, not at the top: `adfc check` on local models never reads the table
    import json
    from pathlib import Path

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


def honours_schema(model: ModelDecl) -> bool:
    """Whether calls to this declared model carry a JSON schema."""
    return schema_form(model.model, dict(model.options).get("structured")) != "none"
