"""Fixtures for runtime tests (helpers live in rt_helpers.py, importable by name)."""

from __future__ import annotations

import asyncio

import pytest
from rt_helpers import client


@pytest.fixture(scope="session", autouse=True)
def warm_litellm() -> None:
    """One call before the tests: litellm's first call imports a lot (seconds on a busy
    machine), which must not count against the short timeouts some tests use."""
    from adf.llm.protocol import ChatRequest, Message
    from adf.testing.fake_server import FakeServer

    with FakeServer("ok") as server:
        request = ChatRequest("openai/fake", (Message("user", "hi"),), api_base=server.base_url)
        asyncio.run(client().complete(request))
