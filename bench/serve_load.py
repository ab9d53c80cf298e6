"""`adfc serve` under load: the served workflow against calling the fake model directly.

Starts the fake OpenAI server in a child process with 50 ms latency, then
sends 5,000 requests from 200 concurrent clients (aiohttp, one connection
each) twice:

- direct (the baseline): each request is a chat completion posted straight
  to the fake model with aiohttp (the endpoint the workflow calls), so it
  measures what one model call costs at this concurrency on this machine;
- litellm: the same chat completions through `litellm.acompletion` in this
  process (what a Python application calling the model without adf pays);
- served: each request is `POST /v1/call` to `adfc serve` (a child process:
  uvicorn, the workflow's one llm node, litellm) on a one-node workflow
  whose model is pointed at the same fake server.

The fake model answers `{"answer": "DESC"}`, the constrained reply the
workflow asks for, so every served request is one model call. Questions
differ per request, so neither the reply cache (off) nor the
client's in-flight de-duplication answers any of them. Reports errors,
throughput and p50/p99 latency of both, and the ratios served/baseline
(goals: 0 errors, p50 <= 1.2x, throughput >= 0.8x). Client, server and fake
model share the machine's cores, so the figures are for this machine only.

Run: `python bench/serve_load.py [--requests 5000] [--clients 200] [--latency 0.05]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from adf.testing.fake_process import FakeServerProcess

FLOW = '''model m = "openai/bench" { temperature: 0, max_tokens: 16 }

param instruction: prompt frozen = "Classify the question by the kind of answer it expects."

input question: str

llm classify(question: str) -> enum{ABBR, DESC, ENTY, HUM, LOC, NUM} using m {
  system: [instruction]
  user: "Question: {question}"
}

node label = classify(question)
output label
'''

REPLY = json.dumps({"answer": "DESC"})
Send = Callable[[aiohttp.ClientSession, int], Awaitable[bool]]


async def load(send: Send, requests: int, clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal errors
            for index in counter:
                started = time.perf_counter()
                try:
                    ok = await send(session, index)
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": requests, "errors": errors, "wall_s": round(wall, 3),
            "throughput_rps": round(requests / wall, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1)}


def direct(base_url: str) -> Send:
    url = base_url.rstrip("/") + "/chat/completions"

    async def send(session: aiohttp.ClientSession, index: int) -> bool:
        body = {"model": "bench", "max_tokens": 16, "temperature": 0, "messages": [
            {"role": "system", "content": "Classify the question."},
            {"role": "user", "content": f"Question: what is item {index}?"}]}
        async with session.post(url, json=body, headers={"Authorization": "Bearer x"}) as reply:
            data = await reply.json()
            return reply.status == 200 and bool(data["choices"][0]["message"]["content"])

    return send


def through_litellm(base_url: str) -> Send:
    from adf.llm.client import LiteLLMClient

    litellm = LiteLLMClient()._load()

    async def send(_session: aiohttp.ClientSession, index: int) -> bool:
        reply = await litellm.acompletion(
            model="openai/bench", api_base=base_url, api_key="x", max_tokens=16,
            temperature=0, messages=[{"role": "system", "content": "Classify the question."},
                                     {"role": "user", "content": f"Question: item {index}?"}])
        return bool(reply.choices[0].message.content)

    return send


def served(base_url: str) -> Send:
    url = base_url + "/v1/call"

    async def send(session: aiohttp.ClientSession, index: int) -> bool:
        async with session.post(url, json={"question": f"what is item {index}?"}) as reply:
            data = await reply.json()
            return reply.status == 200 and data["outputs"]["label"] == "DESC"

    return send


def start_server(flow: Path, model_url: str, clients: int) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "adf.cli.main", "serve", str(flow), "--port", str(port),
               "--api-base", f"m={model_url}", "--no-cache", "--max-concurrent", str(clients),
               "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve_load.py: adfc serve exited: {proc.stderr.read()[-800:]}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as reply:
                if reply.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("serve_load.py: adfc serve did not become healthy in 180 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, \
            FakeServerProcess(latency_s=args.latency, reply=REPLY) as model:
        flow = Path(folder) / "classify.adf"
        flow.write_text(FLOW, encoding="utf-8")
        warm = min(args.requests, args.clients)
        asyncio.run(load(direct(model.base_url), warm, args.clients))
        baseline = asyncio.run(load(direct(model.base_url), args.requests, args.clients))
        asyncio.run(load(through_litellm(model.base_url), warm, args.clients))
        library = asyncio.run(load(through_litellm(model.base_url), args.requests, args.clients))
        proc, base = start_server(flow, model.base_url, args.clients)
        try:
            asyncio.run(load(served(base), warm, args.clients))
            through = asyncio.run(load(served(base), args.requests, args.clients))
        finally:
            proc.terminate()
            proc.wait(30)
    ratios = ratio(through, baseline)
    result = {"settings": {"requests": args.requests, "clients": args.clients,
                           "latency_s": args.latency, "cpus": os.cpu_count()},
              "direct": baseline, "litellm": library, "served": through,
              "served_over_direct": ratios, "served_over_litellm": ratio(through, library)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.requests} requests, {args.clients} clients, fake model latency "
          f"{1000 * args.latency:g} ms, {os.cpu_count()} CPUs")
    for name, row in (("direct", baseline), ("litellm", library), ("served", through)):
        print(f"  {name:7} errors {row['errors']:4}  {row['throughput_rps']:8.1f} req/s  "
              f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms")
    print(f"  served/direct: throughput {ratios['throughput']:.2f}x, p50 {ratios['p50']:.2f}x, "
          f"p99 {ratios['p99']:.2f}x")
    other = result["served_over_litellm"]
    print(f"  served/litellm: throughput {other['throughput']:.2f}x, p50 {other['p50']:.2f}x, "
          f"p99 {other['p99']:.2f}x")
    return 0


def ratio(row: dict[str, Any], base: dict[str, Any]) -> dict[str, float]:
    return {"throughput": round(row["throughput_rps"] / base["throughput_rps"], 3),
            "p50": round(row["p50_ms"] / base["p50_ms"], 3),
            "p99": round(row["p99_ms"] / base["p99_ms"], 3)}


if __name__ == "__main__":
    sys.exit(main())
