"""Which ``response_format`` forms the local llama.cpp server honours.

Starts adf's local server (SmolLM2-135M-Instruct), then asks the same
question under each request form, both as raw HTTP and through
``litellm.acompletion(model="openai/local", ...)``, and checks whether the
reply conforms to the schema (an enum field and an integer field). A small
capture server records what litellm actually sends for each form.

Run: ``python bench/local_response_format.py`` (about 30 s on 2 cores).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

from adf.local.server import LITELLM_MODEL, LocalServer

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["ABBR", "DESC", "HUM", "LOC", "NUM"]},
        "count": {"type": "integer"},
    },
    "required": ["label", "count"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France, and how many letters has it?"},
]
FORMS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "json_object+schema": {"type": "json_object", "schema": SCHEMA},
    "json_schema": {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
    "json_schema+strict": {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": SCHEMA, "strict": True},
    },
    "json_object": {"type": "json_object"},
}
MAX_TOKENS = 48
GRAMMAR = 'root ::= "yes" | "no"'  # llama.cpp's own field: a GBNF grammar


def conforms(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return "not JSON"
    try:
        jsonschema.validate(value, SCHEMA)
    except jsonschema.ValidationError as exc:
        return f"JSON, violates schema ({exc.message[:50]})"
    return "CONFORMS"


def raw(
    base_url: str, form: dict[str, Any] | None, extra_body: dict[str, Any] | None = None
) -> tuple[int, str]:
    body: dict[str, Any] = {
        **(extra_body or {}),
        "model": "local",
        "messages": MESSAGES,
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
    }
    if form is not None:
        body["response_format"] = form
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            data = json.loads(reply.read())
            return reply.status, str(data["choices"][0]["message"]["content"])
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()[:120]


async def via_litellm(
    base_url: str, form: dict[str, Any] | None, extra_body: dict[str, Any] | None = None
) -> str:
    import litellm

    kwargs: dict[str, Any] = {} if form is None else {"response_format": form}
    if extra_body is not None:
        kwargs["extra_body"] = extra_body
    try:
        reply = await litellm.acompletion(
            model=LITELLM_MODEL,
            api_base=base_url,
            api_key="x",
            messages=MESSAGES,
            temperature=0,
            max_tokens=MAX_TOKENS,
            **kwargs,
        )
    except Exception as exc:
        return f"ERROR {type(exc).__name__}: {str(exc)[:100]}"
    return str(reply.choices[0].message.content)


class _Capture(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(json.loads(self.rfile.read(length)))
        payload = json.dumps(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": "local",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "{}"},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def what_litellm_sends() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    print("\nwhat litellm sends as response_format (model openai/local):")
    for name, form in FORMS.items():
        if form is None:
            continue
        _Capture.bodies.clear()
        await via_litellm(base, form)
        sent = _Capture.bodies[-1].get("response_format") if _Capture.bodies else "(no request)"
        same = "unchanged" if sent == form else f"CHANGED to {json.dumps(sent)[:120]}"
        print(f"  {name:20s} {same}")
    _Capture.bodies.clear()
    await via_litellm(base, None, {"grammar": GRAMMAR})
    sent = _Capture.bodies[-1].get("grammar") if _Capture.bodies else None
    print(
        f"  {'extra_body grammar':20s} {'passed as top-level field' if sent == GRAMMAR else 'DROPPED'}"
    )
    server.shutdown()


async def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    await what_litellm_sends()
    with LocalServer() as local:
        print(f"\nlocal server at {local.base_url}")
        print(f"{'form':20s} {'path':8s} result")
        for name, form in FORMS.items():
            start = time.monotonic()
            status, text = raw(local.base_url, form)
            verdict = conforms(text) if status == 200 else f"HTTP {status}"
            print(
                f"{name:20s} {'raw':8s} {verdict:40s} {time.monotonic() - start:4.1f}s {text[:60]!r}"
            )
            text = await via_litellm(local.base_url, form)
            verdict = conforms(text) if not text.startswith("ERROR") else text
            print(f"{name:20s} {'litellm':8s} {verdict:40s} {'':5s} {text[:60]!r}")
        grammar = {"grammar": GRAMMAR}
        status, text = raw(local.base_url, None, grammar)
        print(f"{'grammar (GBNF)':20s} {'raw':8s} {text[:60]!r} (HTTP {status})")
        text = await via_litellm(local.base_url, None, grammar)
        print(f"{'grammar (GBNF)':20s} {'litellm':8s} {text[:60]!r} (extra_body)")


if __name__ == "__main__":
    asyncio.run(main())
