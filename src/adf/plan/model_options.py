"""The typed table of model options: the one place that says what `model m = "..." { ... }` takes.

Takes nothing; gives `OPTIONS` (name -> `OptionSpec`: its kind, range or
choices, whether it may come from `env(...)`, and who reads it),
`EXTRA_PREFIX` and `provider_name`. The compiler checks every option of a
`model` declaration against this table (`adf.compiler.options`); the
request builder (`adf.llm.requests`) reads it to decide what is sent.

Who reads an option:
- "model": a fact about the model adf uses itself and never sends
  (`context`, the context window in tokens);
- "client": read by adf's model client for each call (`timeout`,
  `structured`), not passed on as is;
- "request": sent to the provider through litellm (`temperature`,
  `max_tokens`, `api_key`, ...).

Provider extras: an option the table does not know is an error (so a typo
is never sent on every call). A provider-specific option goes in with the
prefix `x_`: `x_top_k: 40` is sent as `top_k=40`, unchecked.
"""

from __future__ import annotations

from adf.plan.records import EnvUse as EnvUse
from adf.plan.records import OptionKind as OptionKind
from adf.plan.records import OptionSpec as OptionSpec
from adf.plan.records import Reader as Reader

EXTRA_PREFIX = "x_"


_SPECS = (
    OptionSpec("context", "int", "model", "the model's context window in tokens", low=1),
    OptionSpec("timeout", "number", "client", "seconds one call may take", low=0.001),
    OptionSpec(
        "structured",
        "choice",
        "client",
        "how a structured reply is asked for (`auto` lets adf pick)",
        choices=("auto", "json_schema", "json_object", "none"),
    ),
    OptionSpec("api_base", "text", "request", "the server's base URL", env="allowed"),
    OptionSpec("api_key", "text", "request", "the API key, read from the environment", env="required"),
    OptionSpec("api_version", "text", "request", "the API version (Azure)", env="allowed"),
    OptionSpec("organization", "text", "request", "the OpenAI organization", env="allowed"),
    OptionSpec("temperature", "number", "request", "sampling temperature", low=0, high=2),
    OptionSpec("top_p", "number", "request", "nucleus sampling mass", low=0, high=1),
    OptionSpec("max_tokens", "int", "request", "the reply's token cap", low=1),
    OptionSpec("seed", "int", "request", "sampling seed, where the provider supports one"),
    OptionSpec("stop", "text", "request", "a stop sequence"),
    OptionSpec("presence_penalty", "number", "request", "presence penalty", low=-2, high=2),
    OptionSpec("frequency_penalty", "number", "request", "frequency penalty", low=-2, high=2),
    OptionSpec(
        "reasoning_effort",
        "choice",
        "request",
        "reasoning effort of reasoning models",
        choices=("minimal", "low", "medium", "high"),
    ),
)

OPTIONS: dict[str, OptionSpec] = {spec.name: spec for spec in _SPECS}


def provider_name(option: str) -> str | None:
    """For a provider extra `x_NAME`, the name sent to the provider; None otherwise."""
    if option.startswith(EXTRA_PREFIX) and len(option) > len(EXTRA_PREFIX):
        return option[len(EXTRA_PREFIX) :]
    return None
