"""What a fake model answers: scripted replies and the helpers that build responders.

A responder takes the request JSON the fake server received and returns the
reply text or a `FakeReply` (token counts, finish reason, an HTTP error status,
native tool calls). `rules` answers by the first matching predicate;
`last_user`, `system_text`, `all_text` and `tools_of` read a request.
`adf.testing.fake_server` serves them and re-exports every name here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

Request = dict[str, Any]


@attrs.frozen
class FakeReply:
    """A scripted reply; token counts default to the chars/4 estimate.

    A `status` of 400 or more answers an OpenAI-style error whose message is `text`.
    """

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    status: int = 200
    # native tool calls, (name, arguments as JSON text): sent as `message.tool_calls`
    tool_calls: tuple[tuple[str, str], ...] = ()
    # prompt tokens read from a prompt cache: sent as `usage.prompt_tokens_details.cached_tokens`
    cached_tokens: int | None = None


def tool_reply(name: str, **arguments: object) -> FakeReply:
    """A reply that calls the tool `name` with these arguments, the way OpenAI sends it."""
    return FakeReply("", tool_calls=((name, json.dumps(arguments)),), finish_reason="tool_calls")


def tools_of(request: Request) -> list[str]:
    """The names of the tools a request offers (none for a plain request)."""
    return [str(t.get("function", {}).get("name", "")) for t in request.get("tools") or ()]


Responder = Callable[[Request], "str | FakeReply"]


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI "parts" form
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_user(request: Request) -> str:
    """The text of the last user message of a request ("" when none)."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def system_text(request: Request) -> str:
    """All system messages of a request, joined by newlines."""
    return "\n".join(
        _content_text(m.get("content"))
        for m in request.get("messages", [])
        if m.get("role") == "system"
    )


def all_text(request: Request) -> str:
    """Every message's text, joined by newlines."""
    return "\n".join(_content_text(m.get("content")) for m in request.get("messages", []))


Rule = tuple[Callable[[Request], bool], "str | FakeReply | Responder"]


def rules(table: Sequence[Rule], default: str | FakeReply | Responder = "") -> Responder:
    """A responder answering with the first rule whose predicate holds, else `default`.

    A rule's answer is a text, a `FakeReply`, or a function of the request.
    """

    def answer(value: str | FakeReply | Responder, request: Request) -> str | FakeReply:
        if isinstance(value, (str, FakeReply)):
            return value
        return value(request)

    def respond(request: Request) -> str | FakeReply:
        for predicate, value in table:
            if predicate(request):
                return answer(value, request)
        return answer(default, request)

    return respond


def constant(text: str) -> Responder:
    """A responder that always answers `text`."""
    return lambda _request: text
