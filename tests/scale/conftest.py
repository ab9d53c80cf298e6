"""Fixtures for executor tests: one Ray head (2 CPUs) that every `ray` test joins.

The head runs as `ray start --head --block` in a child process (stopped by its
process group at the end), so each executor joins it by address the way a
cluster is joined, and ships the workflow's folder with its job. The
trainer's scripted task lives in `tests/optim/optim_task.py`; its folder is
put on the path so these tests train the same task the trainer tests do.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "optim"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a 2-CPU Ray head; skipped only when the adf[ray] extra is absent."""
    # a cluster's token authentication, as a team would run it: the head and every driver
    # joining it share one token (a throwaway one here), set before Ray is imported
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    pytest.importorskip("ray", reason="needs the adf[ray] extra (scripts/setup.sh --ray)")
    port = _free_port()
    env = dict(os.environ)
    # the workers inherit these (see scale_task.HELPERS)
    env["ADF_TEST_KILL_MARK"] = str(tmp_path_factory.mktemp("kill") / "killed")
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    ray_cli = str(Path(sys.executable).parent / "ray")
    # its own temporary folder (short: Ray's socket paths must fit), so the head leaves no
    # "current cluster" note in /tmp/ray for a later local start to find
    temp = tempfile.mkdtemp(prefix="adfray")
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Ray head did not start") from None
                time.sleep(0.5)
        os.environ["ADF_TEST_RAY_KILL_MARK"] = env["ADF_TEST_KILL_MARK"]
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)
