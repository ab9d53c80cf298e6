"""What a run reports it used equals what the provider saw.

`adfc train` against the fake server with injected faults (429, 500 and a
malformed body); the usage in `report.json` is compared with the server's
own log of requests and faults: every request is counted once, every fault
is either retried or ends a call as failed, and every logical call sent one
first request.
"""

from __future__ import annotations

import json
from pathlib import Path

import optim_task as task
import pytest
from rb_train import make_project, train_args

from adf.cli.main import main
from adf.testing.fake_server import FakeServer, FaultPlan

pytestmark = pytest.mark.slow

KEYS = ("calls", "requests", "retries", "failures", "cache_hits")


def test_report_counts_equal_the_server_log(tmp_path: Path) -> None:
    source = make_project(tmp_path)
    faults = FaultPlan(rate=0.15, kinds=("429", "500", "malformed"), seed=0, retry_after=0.0)
    with FakeServer(task.responder(), faults=faults) as server:
        status = main(train_args(source, server.base_url, tmp_path / "run", "--steps", "1"))
        sent = server.request_count
        injected = [kind for _, kind in server.faults_sent]
    assert status == 0
    assert set(injected) == {"429", "500", "malformed"}, "pick a seed that injects every kind"
    usage = json.loads((tmp_path / "run" / "report.json").read_text())["usage"]
    assert usage["requests"] == sent
    assert usage["retries"] + usage["failures"] == len(injected)
    assert usage["calls"] - usage["cache_hits"] == sent - usage["retries"]
    assert usage["cache_hits"] == 0  # --no-cache
    for key in KEYS:  # the roles add up to the total
        assert sum(role[key] for role in usage["by_purpose"].values()) == usage[key], key
