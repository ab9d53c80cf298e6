"""Read the backward engine's reply: one feedback text per requested key.

Takes the reply text and the keys asked for; gives a `ParsedReply` with the
texts found and the keys missing. Tolerant by design, because small models
drift from the format: a JSON object (bare, fenced, or inside prose, keys
matched ignoring case and punctuation), else `<key>...</key>` tags, else
`key: text` sections; when a single key was asked for, any non-empty reply is
its feedback. A value that is empty or only a copied placeholder ("...",
"<your feedback on x>") counts as missing. Never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs


@attrs.frozen
class ParsedReply:
    texts: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]

    def get(self, key: str) -> str | None:
        return dict(self.texts).get(key)


def parse_reply(text: str, keys: Sequence[str]) -> ParsedReply:
    found = _from_json(text, keys) or _from_tags(text, keys) or _from_sections(text, keys)
    if not found and len(keys) == 1 and text.strip():
        found = {keys[0]: text.strip()}
    texts = tuple((key, found[key]) for key in keys if _useful(found.get(key, "")))
    missing = tuple(key for key in keys if not _useful(found.get(key, "")))
    return ParsedReply(texts, missing)


def _useful(text: str) -> bool:
    """False for empty text and for a copied placeholder ("...", "<your feedback on x>")."""
    stripped = text.strip().strip(".").strip()
    return bool(stripped) and not (stripped.startswith("<") and stripped.endswith(">"))


def _norm(key: str) -> str:
    return re.sub(r"[\W_]+", "", key).lower()


def _match(raw: Mapping[str, Any], keys: Sequence[str]) -> dict[str, str]:
    wanted = {_norm(k): k for k in keys}
    out: dict[str, str] = {}
    for name, value in raw.items():
        key = wanted.get(_norm(str(name)))
        if key is None or key in out:
            continue
        if isinstance(value, str):
            out[key] = value.strip()
        elif isinstance(value, dict | list):
            out[key] = json.dumps(value, ensure_ascii=False)
        elif value is not None:
            out[key] = str(value)
    return out


def _from_json(text: str, keys: Sequence[str]) -> dict[str, str]:
    # strict=False: constrained decoders let small models put raw newlines inside strings
    decoder = json.JSONDecoder(strict=False)
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            matched = _match(value, keys)
            if matched:
                return matched
    return {}


def _from_tags(text: str, keys: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in keys:
        match = re.search(
            rf"<\s*{re.escape(key)}\s*>(.*?)<\s*/\s*{re.escape(key)}\s*>", text, re.I | re.S
        )
        if match:
            out[key] = match.group(1).strip()
    return out


def _from_sections(text: str, keys: Sequence[str]) -> dict[str, str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    header = re.compile(
        rf"^[\s*#>\-\"'`]*({alternatives})[\"'`*]*\s*[:=\-]\s*", re.I | re.M
    )
    marks = list(header.finditer(text))
    out: dict[str, str] = {}
    by_lower = {k.lower(): k for k in keys}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        key = by_lower[mark.group(1).lower()]
        if key not in out:
            out[key] = text[mark.end():end].strip()
    return out
