"""Helpers for model-access tests: a fast-retrying client against the fake server."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.llm.accounting import Accounting
from adf.llm.cache import ReplyCache
from adf.llm.calltrace import MemoryTrace
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.llm.protocol import ChatRequest, Message

FAST = RetryPolicy(max_retries=4, base_s=0.001, max_delay_s=0.01, max_total_wait_s=5.0)


class Recorder:
    """A client with its accounting, trace and cache, for one test."""

    def __init__(self, tmp: Path, *, cache: bool = True, **kwargs: Any) -> None:
        self.accounting = Accounting()
        self.trace = MemoryTrace()
        self.cache = ReplyCache(tmp / "cache.sqlite", enabled=cache)
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("timeout_s", 5.0)
        self.client = LiteLLMClient(cache=self.cache, sinks=[self.accounting, self.trace], **kwargs)


def ask(
    base_url: str | None, text: str = "hi", model: str = "openai/fake", **fields: Any
) -> ChatRequest:
    return ChatRequest(model=model, messages=(Message("user", text),), api_base=base_url, **fields)


def dead_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
