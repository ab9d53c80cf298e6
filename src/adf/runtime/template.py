"""Render an llm node's chat messages from its template parts.

Takes the node's `LlmSpec`, the current parameter values (prompts and demos,
possibly overridden by the trainer) and the node's bound arguments; gives the
messages to send. Placeholders `{name}` in the literal text parts (the one
grammar of `adf.plan.placeholders`) are filled exactly once, in a single pass: a `{...}` that arrives inside sample data, a
model's output or a parameter value is text and is never expanded again.
`{{` and `}}` in literal text stand for single braces.

Parts of one message are joined by a blank line; empty parts (an empty demos
list, an empty prompt) are left out, and a message with no content at all is
not sent (a system message is optional).

Demos named in `turns` (params declared `demos(turns: true)`) are not text in
the prompt: each demo becomes a user turn and an assistant turn, sent after
the system message and before the call's own user message. The user turn is
the llm's `user:` template filled with the demo's fields when they cover its
placeholders (so an example looks like a real question), else one
`name: text` line per field; the assistant turn is the demo's last field, the
answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from adf.llm.protocol import Message
from adf.plan import placeholders
from adf.plan.paramvalue import ParamValue
from adf.plan.schema import Demo, LlmSpec, TemplatePart
from adf.runtime.values import render


def render_messages(
    spec: LlmSpec,
    params: Mapping[str, ParamValue],
    args: Mapping[str, Any],
    turns: Collection[str] = (),
) -> tuple[Message, ...]:
    messages: list[Message] = []
    system = render_parts(spec.system, params, args, turns)
    if system:
        messages.append(Message("system", system))
    for part in (*spec.system, *spec.user):
        if part.kind == "param" and part.param in turns:
            value = params[part.param]
            messages += demo_turns(value if isinstance(value, tuple) else (), spec.user)
    messages.append(Message("user", render_parts(spec.user, params, args, turns)))
    return tuple(messages)


def render_parts(
    parts: tuple[TemplatePart, ...],
    params: Mapping[str, ParamValue],
    args: Mapping[str, Any],
    turns: Collection[str] = (),
) -> str:
    """The text of one message; the params in `turns` are left out (sent as turns)."""
    pieces: list[str] = []
    for part in parts:
        if part.kind == "param" and part.param in turns:
            continue
        text = render_param(params[part.param]) if part.kind == "param" else fill(part.text, args)
        if text.strip():
            pieces.append(text)
    return "\n\n".join(pieces)


def demo_turns(demos: tuple[Demo, ...], user: tuple[TemplatePart, ...]) -> Iterator[Message]:
    """Each demo as a user turn (its inputs) and an assistant turn (its answer)."""
    holes = {h for p in user if p.kind == "text" for h in placeholders.holes(p.text)}
    templated = bool(holes) and all(p.kind == "text" for p in user)
    for demo in demos:
        if not demo.fields:
            continue
        *shown, (_, answer) = demo.fields
        asked = dict(shown)
        if templated and holes <= asked.keys():
            question = render_parts(user, {}, asked)
        else:
            question = "\n".join(f"{name}: {text}" for name, text in shown)
        yield Message("user", question)
        yield Message("assistant", answer)


def fill(text: str, args: Mapping[str, Any]) -> str:
    """Replace each `{name}` bound in `args` by its rendered value, in one pass
    (the placeholder grammar is `adf.plan.placeholders`)."""
    return placeholders.fill(text, lambda name: render(args[name]) if name in args else None)


def render_param(value: ParamValue) -> str:
    if isinstance(value, str):
        return value
    return render_demos(value)


def render_demos(demos: tuple[Demo, ...]) -> str:
    if not demos:
        return ""
    blocks = []
    for index, demo in enumerate(demos, start=1):
        lines = [f"Example {index}:"]
        lines += [f"{name}: {text}" for name, text in demo.fields]
        blocks.append("\n".join(lines))
    return "Examples:\n\n" + "\n\n".join(blocks)
