"""A fake model that answers every request from its content: a hash picks each reply.

Takes the request JSON the fake server received; gives the reply text. A
request with a JSON schema gets a value of that schema (a hash of the
messages picks each enum label, number and string; a proposed value is the
current one with one of a few edits appended); a review gets one line of
feedback per key it asks for; an optimizer ask without a schema gets a
tagged proposal; anything else gets "Answer: N". So about half the samples
fail, candidates score differently from the current values, and the gate
sees wins, ties and losses as on a real model, while every run is the same
for the same requests. Replies are short, as a small model's often are.
`bench/estimate_accuracy.py` trains the examples on it, and the forecast's
accuracy tests do too.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from adf.testing.responders import Request, last_user, system_text

_KEYS = re.compile(r"exactly these keys: (.*)")
_CURRENT = re.compile(r"<current>\n(.*?)\n</current>", re.S)
_EDITS = ("Be precise.", "Check each step.", "Answer briefly.", "Read the input twice.")


def _pick(request: Request, salt: str, n: int) -> int:
    body = json.dumps(request.get("messages", []), sort_keys=True) + salt
    return int(hashlib.sha256(body.encode()).hexdigest()[:8], 16) % max(n, 1)


def _value(schema: dict[str, Any], request: Request, path: str) -> Any:
    """A value of `schema`, chosen by a hash of the request."""
    if "enum" in schema:
        return schema["enum"][_pick(request, path, len(schema["enum"]))]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _value(v, request, f"{path}.{k}") for k, v in props.items()}
    if kind == "array":
        return [_value(schema.get("items", {}), request, f"{path}[{i}]") for i in range(2)]
    if kind == "integer":
        return _pick(request, path, 12)
    if kind == "number":
        return float(_pick(request, path, 12))
    if kind == "boolean":
        return bool(_pick(request, path, 2))
    if "proposed" in path or "value" in path:
        current = _CURRENT.search(last_user(request))
        base = current.group(1) if current else "Answer the question."
        return f"{base} {_EDITS[_pick(request, path, len(_EDITS))]}"
    return ["yes", "no", "42", "Paris", "the second one"][_pick(request, path, 5)]


def respond(request: Request) -> str:
    schema = ((request.get("response_format") or {}).get("json_schema") or {}).get("schema")
    if schema is not None:
        return json.dumps(_value(schema, request, ""))
    system = system_text(request)
    if system.startswith("You review one step"):
        match = _KEYS.search(last_user(request))
        keys = [json.loads(k) for k in match.group(1).split(", ")] if match else ["value"]
        return json.dumps({k: "Say which detail of the input decides the answer." for k in keys})
    if system.startswith("You improve one part"):
        current = _CURRENT.search(last_user(request))
        base = current.group(1) if current else "Answer the question."
        edit = _EDITS[_pick(request, "edit", len(_EDITS))]
        return f"<reasoning>The feedback asks for care.</reasoning>\n<proposed_value>{base} {edit}</proposed_value>"
    return f"Answer: {_pick(request, 'answer', 12)}"
