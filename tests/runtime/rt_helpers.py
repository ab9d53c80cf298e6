"""Helpers for runtime tests: a fake-server responder that plays task model and backward engine."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.testing.fake_server import FakeReply, Request, last_user, system_text

_KEYS = re.compile(r"exactly these keys: (.*)")
_STEP = re.compile(r"^# The step: (\S+)", re.M)


def is_backward(request: Request) -> bool:
    return system_text(request).startswith("You review one step")


def backward_keys(request: Request) -> list[str]:
    match = _KEYS.search(last_user(request))
    assert match, "not a backward request"
    return [json.loads(k) for k in match.group(1).split(", ")]


def backward_node(request: Request) -> str:
    match = _STEP.search(last_user(request))
    assert match
    return match.group(1)


def engine_reply(request: Request) -> str:
    """A well-behaved backward engine: one feedback text per key, naming key and node."""
    node = backward_node(request)
    return json.dumps({key: f"fix {key} at {node}" for key in backward_keys(request)})


def hashed_reply(request: Request) -> str:
    """A task model that answers each prompt with `out-` and a hash of its user text."""
    return "out-" + hashlib.sha256(last_user(request).encode()).hexdigest()[:8]


def responder(forward: Callable[[Request], str]) -> Callable[[Request], str | FakeReply]:
    def respond(request: Request) -> str | FakeReply:
        return engine_reply(request) if is_backward(request) else forward(request)

    return respond


def client(**kwargs: Any) -> LiteLLMClient:
    """A litellm client with no cache and fast retries, for tests against the fake server."""
    retry = RetryPolicy(max_retries=kwargs.pop("max_retries", 4), base_s=0.01, max_delay_s=0.05)
    return LiteLLMClient(retry=retry, timeout_s=kwargs.pop("timeout_s", 60.0), **kwargs)
