"""Secrets a model call reads, and keeping them out of what adf prints.

Takes an environment mapping and the names a request gives; gives
`read_env` (a variable's value, or a `ModelError` naming the missing
variable), `secret_parts` (the pieces of a secret URL a provider may quote
on their own) and `scrub` (every secret replaced by `***`). `NO_KEY` is the
dummy key sent to a custom server when a request names no key, so a
provider key from the environment never goes there; it is no secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from adf.llm.protocol import ModelError

NO_KEY = "adf-no-key"


def read_env(env: Mapping[str, str], name: str, model: str, option: str) -> str:
    """The value of variable `name`, which `model` needs for its `option`."""
    value = env.get(name)
    if value is None or value == "":
        raise ModelError(
            f"model '{model}' needs the environment variable {name} (for its {option}), "
            "which is not set"
        )
    return value


def secret_parts(url: str) -> list[str]:
    """The pieces of a secret URL a provider may quote apart from the whole: the user info,
    the query and its values, and long path segments (a provider may rebuild the URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.query] if parts.query else []
    found += [value for _, value in parse_qsl(parts.query)]
    if "@" in parts.netloc:
        found.append(parts.netloc.rsplit("@", 1)[0])
    found += [segment for segment in parts.path.split("/") if len(segment) >= 12]
    return sorted({p for p in found if len(p) >= 6}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (of 4 characters or more) replaced by `***`."""
    for secret in secrets:
        if secret and secret != NO_KEY and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
