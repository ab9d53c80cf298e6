"""Shared pieces of the API, client-generation and server tests: a typed workflow, its replies."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.testing.fake_server import FakeReply, Request, last_user

HERE = Path(__file__).parent
TICKET = {"ticket": {"title": "slow query", "tags": ["sql"]}, "priority": "high"}


def answer(request: Request) -> str | FakeReply:
    """The team by the ticket's words: `sql` goes to db, anything else to web."""
    text = last_user(request)
    team = "db" if "sql" in text else "web"
    return json.dumps({"team": team, "score": len(text) % 7})


def workflow_copy(folder: Path) -> Path:
    """triage.adf copied into `folder` (so a lock file or cache written there stays there)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "triage.adf"
    shutil.copy(HERE / "triage.adf", target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
