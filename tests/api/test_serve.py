"""`adfc serve`: a real uvicorn server on 127.0.0.1, a real HTTP client, the fake model."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from api_helpers import TICKET, answer, free_port, workflow_copy

import adf
from adf.serve.app import ServeSettings, build_app
from adf.testing.fake_server import FakeReply, FakeServer, FaultPlan

SECRET = "sk-test-d0-not-leak-4242"


@contextmanager
def serving(wf: adf.Workflow, settings: ServeSettings | None = None) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(build_app(wf, settings), host="127.0.0.1", port=port,
                            log_level="info", lifespan="on", timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def load(folder: Path, url: str, **options: object) -> adf.Workflow:
    return adf.load(str(workflow_copy(folder)), api_bases={"m": url}, cache=False, **options)


def test_call_batch_health_workflow_and_plan_hash_header(tmp_path: Path) -> None:
    with FakeServer(answer) as model:
        wf = load(tmp_path, model.base_url)
        with serving(wf) as base, httpx.Client(base_url=base) as http:
            health = http.get("/health")
            plain = http.post("/v1/call", json=TICKET)
            traced = http.post("/v1/call", params={"trace": "true"}, json=TICKET)
            batch = http.post("/v1/batch", json=[TICKET, {**TICKET, "ticket": {
                "title": "css", "tags": []}}])
            info = http.get("/v1/workflow")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    for response in (health, plain, traced, batch, info):
        assert response.headers["x-adf-plan-hash"] == wf.plan_hash
    assert plain.status_code == 200 and plain.json()["outputs"]["pred"]["team"] == "db"
    assert "trace" not in plain.json() and plain.json()["usage"]["calls"] == 1
    assert traced.json()["trace"][0]["messages"][-1]["content"].startswith("Ticket:")
    results = batch.json()["results"]
    assert [r["outputs"]["pred"]["team"] for r in results] == ["db", "web"]
    assert batch.json()["usage"]["calls"] == 2
    assert info.json()["params"]["instruction"].startswith("Route the ticket")
    assert info.json()["inputs"]["priority"] == "enum{low, high}"


def test_the_lock_files_values_are_served(tmp_path: Path) -> None:
    from adf.optim.lockfile import write_lock

    source = workflow_copy(tmp_path)
    source.write_text(source.read_text().replace("prompt frozen =", "prompt ="))
    write_lock(str(source), adf.load(str(source)).plan,
               {"instruction": "TRAINED: route by component."}, {"status": "done"})
    with FakeServer(answer) as model:
        wf = adf.load(str(source), api_bases={"m": model.base_url}, cache=False)
        with serving(wf) as base, httpx.Client(base_url=base) as http:
            info = http.get("/v1/workflow").json()
            http.post("/v1/call", json=TICKET)
        sent = model.requests[0]["messages"][0]["content"]
    assert info["trained"] == ["instruction"]
    assert info["params"]["instruction"] == "TRAINED: route by component."
    assert sent.startswith("TRAINED: route by component.")
    assert info["plan_hash"] == wf.plan_hash


def test_openapi_document_is_generated_from_the_declared_types(tmp_path: Path) -> None:
    with FakeServer(answer) as model, serving(load(tmp_path, model.base_url)) as base:
        doc = httpx.get(base + "/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]
    assert doc["openapi"].startswith("3.")
    assert schemas["Inputs"]["required"] == ["ticket", "priority"]
    assert schemas["Inputs"]["properties"]["priority"] == {"type": "string",
                                                           "enum": ["low", "high"]}
    assert schemas["Inputs"]["properties"]["ticket"]["properties"]["tags"] == {
        "type": "array", "items": {"type": "string"}}
    pred = schemas["Outputs"]["properties"]["pred"]
    assert pred["properties"]["team"]["enum"] == ["web", "db"]
    assert pred["properties"]["score"] == {"type": "integer"}
    assert {"422", "502", "504"} <= set(doc["paths"]["/v1/call"]["post"]["responses"])


def test_bad_requests_get_their_status_and_a_json_error(tmp_path: Path) -> None:
    settings = ServeSettings(max_body_bytes=2_000, max_batch=3)
    with FakeServer(answer) as model:
        with serving(load(tmp_path, model.base_url), settings) as base, \
                httpx.Client(base_url=base) as http:
            bad_json = http.post("/v1/call", content=b'{"ticket": ')
            surrogate = http.post("/v1/call", content=json.dumps(
                {**TICKET, "ticket": {**TICKET["ticket"], "title": "\ud800"}}).encode())
            not_object = http.post("/v1/call", json=[TICKET])
            wrong = http.post("/v1/call", json={"ticket": {"title": 5, "tags": "x"},
                                                "priority": "low"})
            missing = http.post("/v1/call", json={"ticket": TICKET["ticket"]})
            big = http.post("/v1/call", content=b"{" + b" " * 5_000 + b"}")
            too_many = http.post("/v1/batch", json=[TICKET] * 4)
            bad_item = http.post("/v1/batch", json=[TICKET, {**TICKET, "priority": "mid"}])
            unknown = http.get("/v2/nothing")
            method = http.get("/v1/call")
        assert model.request_count == 0  # nothing bad reached the model
    expected = [(bad_json, 400, "invalid_json"), (not_object, 400, "invalid_json"),
                (surrogate, 422, "invalid_input"),
                (wrong, 422, "invalid_input"), (missing, 422, "invalid_input"),
                (big, 413, "body_too_large"), (too_many, 413, "batch_too_large"),
                (bad_item, 422, "invalid_input"), (unknown, 404, "not_found"),
                (method, 405, "method_not_allowed")]
    for response, status, code in expected:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        assert response.headers["content-type"] == "application/json"
    paths = [p["path"] for p in wrong.json()["error"]["problems"]]
    assert paths == [["ticket", "title"], ["ticket", "tags"]]
    assert missing.json()["error"]["problems"][0]["path"] == ["priority"]
    assert bad_item.json()["error"]["problems"][0]["path"] == [1, "priority"]
    assert surrogate.json()["error"]["problems"][0]["path"] == ["ticket", "title"]


def test_a_body_nested_past_the_stack_is_invalid_json(tmp_path: Path) -> None:
    with FakeServer(answer) as model:
        with serving(load(tmp_path, model.base_url)) as base, httpx.Client(base_url=base) as http:
            deep = http.post("/v1/call", content=b"[" * 100_000 + b"]" * 100_000)
        assert model.request_count == 0
    assert (deep.status_code, deep.json()["error"]["code"]) == (400, "invalid_json")
    assert "nested too deeply" in deep.json()["error"]["message"]


def test_model_errors_and_timeouts_are_502_and_504_without_leaking_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TRIAGE_KEY", SECRET)
    source = workflow_copy(tmp_path)
    source.write_text(source.read_text().replace(
        "temperature: 0,", 'temperature: 0, api_key: env("TRIAGE_KEY"),'))

    def broken(_request: object) -> FakeReply:
        return FakeReply(f"internal error near key {SECRET}", status=500)

    caplog.set_level(logging.DEBUG)
    slow = FaultPlan(rate=1.0, kinds=("timeout",), delay_s=3.0)
    with FakeServer(broken) as failing, FakeServer(answer, faults=slow) as hanging:
        wf = adf.load(str(source), cache=False, retries=0, timeout=0.5,
                      api_bases={"m": failing.base_url})
        with serving(wf) as base:
            failed = httpx.post(base + "/v1/call", json=TICKET, params={"trace": "1"},
                                timeout=30)
            batch = httpx.post(base + "/v1/batch", json=[TICKET], timeout=30)
        assert failing.headers[0]["authorization"] == f"Bearer {SECRET}"
        with serving(wf.configure(api_bases={"m": hanging.base_url})) as base:
            timed_out = httpx.post(base + "/v1/call", json=TICKET, timeout=30)
        request_limit = ServeSettings(request_timeout_s=0.3)
        with serving(wf.configure(api_bases={"m": hanging.base_url}, timeout=10),
                     request_limit) as base:
            too_slow = httpx.post(base + "/v1/call", json=TICKET, timeout=30)
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "model_failed"
    assert failed.json()["error"]["node"] == "pred"
    assert batch.status_code == 200
    assert batch.json()["results"][0]["error"]["code"] == "model_failed"
    assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "model_timeout"
    assert too_slow.status_code == 504 and too_slow.json()["error"]["code"] == "request_timeout"
    for response in (failed, batch, timed_out, too_slow):
        assert SECRET not in response.text
    assert caplog.records and SECRET not in caplog.text


def test_concurrency_limit_queue_and_overload(tmp_path: Path) -> None:
    rows = [{**TICKET, "ticket": {"title": f"t{i}", "tags": []}} for i in range(8)]
    with FakeServer(answer, latency_s=0.3) as model:
        wf = load(tmp_path, model.base_url)
        with serving(wf, ServeSettings(max_concurrent=2)) as base, \
                httpx.Client(base_url=base, timeout=30) as http:
            threads = [threading.Thread(target=http.post, args=("/v1/call",),
                                        kwargs={"json": row}) for row in rows]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert model.request_count == 8 and model.max_in_flight <= 2
        statuses: list[int] = []
        with serving(wf, ServeSettings(max_concurrent=1, max_queue=0)) as base, \
                httpx.Client(base_url=base, timeout=30) as http:

            def post(row: dict[str, object]) -> None:
                statuses.append(http.post("/v1/call", json=row).status_code)

            threads = [threading.Thread(target=post, args=(row,)) for row in rows[:4]]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1
    assert set(statuses) <= {200, 503}


def test_shutdown_finishes_the_requests_in_flight(tmp_path: Path) -> None:
    with FakeServer(answer, latency_s=1.0) as model:
        wf = load(tmp_path, model.base_url)
        replies: list[httpx.Response] = []
        with serving(wf) as base:
            thread = threading.Thread(target=lambda: replies.append(
                httpx.post(base + "/v1/call", json=TICKET, timeout=30)))
            thread.start()
            while model.request_count == 0:
                time.sleep(0.01)
        # leaving `serving` asked the server to exit while the call was in flight
        thread.join(30)
    assert replies and replies[0].status_code == 200
    assert json.loads(replies[0].text)["outputs"]["pred"]["team"] == "db"


def test_adfc_serve_runs_until_sigterm_and_finishes_the_call_in_flight(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    source = workflow_copy(tmp_path)
    port = free_port()
    with FakeServer(answer, latency_s=1.0) as model:
        proc = subprocess.Popen(
            [sys.executable, "-m", "adf.cli.main", "serve", str(source), "--port", str(port),
             "--api-base", f"m={model.base_url}", "--no-cache"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                try:
                    if httpx.get(base + "/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            replies: list[httpx.Response] = []
            thread = threading.Thread(target=lambda: replies.append(
                httpx.post(base + "/v1/call", json=TICKET, timeout=30)))
            thread.start()
            while model.request_count == 0:
                time.sleep(0.01)
            proc.send_signal(signal.SIGTERM)
            thread.join(30)
            log, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert replies and replies[0].status_code == 200
    assert replies[0].json()["outputs"]["pred"]["team"] == "db"
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Uvicorn running on" in log and "Shutting down" in log
    assert "slow query" not in log  # request bodies are not logged
