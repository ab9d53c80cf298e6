"""Fixtures for the local-model integration tests.

`local_server` starts adf's real llama.cpp server (SmolLM2-135M-Instruct)
once per test session. When llama-cpp-python or the model is not installed
the tests that use it fail with the install command: the test script
installs both, so a missing piece is a broken setup, not a reason to skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from adf.local.model import LocalModelError, locate_model, require_server
from adf.local.server import API_BASE_ENV, LocalServer


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    try:
        require_server()
        locate_model()
    except LocalModelError as exc:
        pytest.fail(f"the local model is not set up (run scripts/setup.sh --local): {exc}")
    environ = {k: v for k, v in os.environ.items() if k != API_BASE_ENV}
    with LocalServer(environ=environ) as server:
        yield server


@pytest.fixture(scope="session")
def litellm_env() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
