"""What adf's model-call layer costs on top of litellm, and how close a forward pass gets
to its critical path.

Both parts talk to the fake OpenAI server running in a child process
(`adf.testing.fake_process`), so the server's work does not compete with the
client for the GIL.

Part 1 (per-call overhead): the same kind of chat calls at 0 ms server
latency, as a bare `litellm.acompletion` loop and through `LiteLLMClient`
(with an on-disk cache that misses every time, and with the cache off; and,
as the baseline of adf's route choice, with the cache off on the OpenAI SDK
route, `ADF_LLM_ROUTE=sdk`, instead of litellm's generic HTTP route).
Runs alternate in rounds (order reversed every other round) and both the
median and the best round are reported, and for CPU also the median of each
round's ratio (the runs of one round are adjacent in time, so this ratio
suffers least from a machine whose load changes). Targets: wall <= 1.1x;
client CPU per call <= 0.6x bare litellm (adf skips litellm's per-call
pricing, success logging and client lookup, and takes litellm's generic HTTP
route instead of the OpenAI SDK where the server receives the same request,
see `adf.llm.provider` and `adf.llm.connections`; where the rest goes:
`bench/call_profile.py`).

Part 2 (forward pass): 64 samples through a compiled plan with 3 LLM nodes in
a chain, 100 ms server latency, concurrency 16, through `adf.runtime.engine
.evaluate`, compared with the critical-path bound ceil(64 / 16) * 3 * 100 ms.
Target: <= 1.5x. Also printed: the client CPU time per call of bare litellm
(measured in part 1), and the bound it implies on one core
(calls * CPU per call), since the event loop cannot go faster than that.

Run: `python bench/runtime_overhead.py [--calls 20] [--rounds 30]`
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.llm.cache import ReplyCache
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.llm.connections import ROUTE_ENV, Connections
from adf.llm.protocol import ChatRequest, Message
from adf.llm.provider import load_litellm
from adf.testing.fake_process import FakeServerProcess

MODEL = "openai/fake"
SYSTEM = "Answer the counting question. Think step by step."


def _question(i: int, tag: str) -> str:
    return f"Question {tag}-{i}: how many apples are on the table?"


async def bare_loop(litellm: Any, base_url: str, calls: int, tag: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        response = await litellm.acompletion(
            model=MODEL,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": _question(i, tag)},
            ],
            api_base=base_url,
            api_key="x",
            temperature=0.0,
            max_tokens=32,
            num_retries=0,
            max_retries=0,
            timeout=30.0,
        )
        assert response.choices[0].message.content
    return time.perf_counter() - wall, time.process_time() - cpu


async def adf_loop(
    client: LiteLLMClient, base_url: str, calls: int, tag: str
) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        request = ChatRequest(
            model=MODEL,
            messages=(Message("system", SYSTEM), Message("user", _question(i, tag))),
            api_base=base_url,
            temperature=0.0,
            max_tokens=32,
            node="solve",
        )
        reply = await client.complete(request)
        assert reply.text and not reply.cached
    return time.perf_counter() - wall, time.process_time() - cpu


async def per_call_overhead(calls: int, rounds: int) -> float:
    """Print part 1; return bare litellm's client CPU seconds per call."""
    litellm = load_litellm()
    with tempfile.TemporaryDirectory() as tmp, FakeServerProcess(0.0) as srv:
        cache = ReplyCache(Path(tmp) / "cache.sqlite")
        clients = {
            "adf+cache": LiteLLMClient(cache=cache, retry=RetryPolicy(), timeout_s=30.0),
            "adf": LiteLLMClient(cache=None, retry=RetryPolicy(), timeout_s=30.0),
            "adf/sdk": LiteLLMClient(cache=None, retry=RetryPolicy(), timeout_s=30.0),
        }
        # the baseline of the route choice: the OpenAI SDK route, as adf took before
        clients["adf/sdk"]._connections = Connections(environ={ROUTE_ENV: "sdk"})
        # warm up: connection pools, litellm's lazy imports, the sqlite file
        await bare_loop(litellm, srv.base_url, 20, "warm")
        for name, client in clients.items():
            await adf_loop(client, srv.base_url, 20, f"warm-{name}")
        order = ["bare", *clients]
        walls: dict[str, list[float]] = {name: [] for name in order}
        cpus: dict[str, list[float]] = {name: [] for name in order}
        for r in range(rounds):
            for name in order if r % 2 == 0 else order[::-1]:  # cancel drift
                if name == "bare":
                    wall, cpu = await bare_loop(litellm, srv.base_url, calls, f"b{r}")
                else:
                    wall, cpu = await adf_loop(clients[name], srv.base_url, calls, f"{name}{r}")
                walls[name].append(wall / calls)
                cpus[name].append(cpu / calls)
        for client in clients.values():
            await client.aclose()
        cache.close()
    print(f"part 1: per call at 0 ms latency ({calls} calls x {rounds} rounds)")
    print(
        f"  {'':27s} {'wall med':>9s} {'wall best':>9s} {'cpu med':>9s}   ratios to bare: "
        "wall med, wall best, cpu med, cpu per round (median of each round's ratio)"
    )
    labels = {
        "bare": "bare litellm.acompletion",
        "adf+cache": "LiteLLMClient, cache miss",
        "adf": "LiteLLMClient, no cache",
        "adf/sdk": "  same, OpenAI SDK route",
    }
    bare = (statistics.median(walls["bare"]), min(walls["bare"]), statistics.median(cpus["bare"]))
    for name, label in labels.items():
        mine = (statistics.median(walls[name]), min(walls[name]), statistics.median(cpus[name]))
        figures = " ".join(f"{v * 1e3:6.3f} ms" for v in mine)
        per_round = statistics.median(
            c / b for c, b in zip(cpus[name], cpus["bare"], strict=True)
        )
        ratio = (
            ""
            if name == "bare"
            else "  ".join(f"{m / b:5.3f}x" for m, b in zip(mine, bare, strict=True))
            + f"  {per_round:5.3f}x"
        )
        print(f"  {label:27s} {figures}   {ratio}")
    print(
        f"  adf's own bookkeeping per cache-miss call (key hash, lookup, insert): "
        f"{bookkeeping_us(Path(tempfile.gettempdir())):.0f} us cpu"
    )
    return statistics.median(cpus["bare"])


def bookkeeping_us(folder: Path, calls: int = 1000) -> float:
    """CPU microseconds per call for the cache key, a missing lookup and an insert."""
    from adf.llm.cache import CachedReply, cache_key

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cache = ReplyCache(Path(tmp) / "bookkeeping.sqlite")
        requests = [
            ChatRequest(
                model=MODEL,
                messages=(Message("system", SYSTEM), Message("user", _question(i, "k"))),
                api_base="http://127.0.0.1:1/v1",
                temperature=0.0,
                max_tokens=32,
            )
            for i in range(calls)
        ]
        started = time.process_time()
        for request in requests:
            key = cache_key(request)
            assert cache.get(key) is None
            cache.put(key, MODEL, CachedReply("echo", 10, 2, None, "none"))
        spent = time.process_time() - started
        cache.close()
    return spent / calls * 1e6


CHAIN = """
model m = "openai/fake" { api_base: "BASE_URL", temperature: 0 }
param p1: prompt = "Read the question and restate it."
param p2: prompt = "Work out the answer step by step."
param p3: prompt = "Give only the final answer."
input question: str
target answer: str
llm restate(question: str) -> str using m { system: [p1] user: "Q: {question}" }
llm work(text: str) -> str using m { system: [p2] user: "Restated: {text}" }
llm finish(text: str) -> str using m { system: [p3] user: "Work: {text}" }
node r1 = restate(question)
node r2 = work(r1)
node r3 = finish(r2)
loss acc = std.loss.exact_match(r3, answer)
output r3
"""


async def bare_chain(base_url: str, samples: int, concurrency: int, llm_nodes: int) -> float:
    """The forward pass without adf: per sample, `llm_nodes` chained calls; `concurrency` samples."""
    litellm = load_litellm()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            text = f"how many apples in basket {i}? (bare)"
            for step in range(llm_nodes):
                response = await litellm.acompletion(
                    model=MODEL,
                    messages=[
                        {"role": "system", "content": f"step {step}"},
                        {"role": "user", "content": text},
                    ],
                    api_base=base_url,
                    api_key="x",
                    temperature=0.0,
                    num_retries=0,
                    max_retries=0,
                    timeout=30.0,
                )
                text = response.choices[0].message.content

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(samples)))
    return time.perf_counter() - started


async def forward_pass(
    samples: int, concurrency: int, latency_s: float, cpu_per_call: float
) -> None:
    try:
        from adf.compiler.pipeline import compile_source
        from adf.runtime.data import Sample, sample_from_row
        from adf.runtime.engine import evaluate
    except ImportError as exc:
        print(f"part 2: skipped (forward engine or compiler not available: {exc})")
        return
    with FakeServerProcess(latency_s) as srv:
        compiled = compile_source(CHAIN.replace("BASE_URL", srv.base_url), "chain.adf")
        assert compiled.plan is not None, compiled.diagnostics
        plan = compiled.plan
        rows = [
            {"question": f"how many apples in basket {i}?", "answer": "3"} for i in range(samples)
        ]
        batch = [sample_from_row(plan, row, sample_id=str(i)) for i, row in enumerate(rows)]
        ready = [s for s in batch if isinstance(s, Sample)]
        assert len(ready) == samples
        client = LiteLLMClient(cache=None, concurrency=concurrency, timeout_s=30.0)
        warm = [
            sample_from_row(plan, {"question": f"warm {i}", "answer": "3"}, sample_id=f"w{i}")
            for i in range(concurrency)
        ]
        await evaluate(
            plan, [s for s in warm if isinstance(s, Sample)], client, concurrency=concurrency
        )
        srv.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        result = await evaluate(plan, ready, client, concurrency=concurrency)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats = srv.stats()
        bare_wall = await bare_chain(srv.base_url, samples, concurrency, llm_nodes=3)
    llm_nodes = sum(1 for n in plan.nodes if n.kind == "llm")
    calls = stats["requests"]
    bound = math.ceil(samples / concurrency) * llm_nodes * latency_s
    cpu_bound = calls * cpu_per_call
    failed = sum(1 for r in result.samples if r.error is not None)
    print(
        f"part 2: forward pass, {samples} samples x {llm_nodes} LLM nodes in a chain, "
        f"{latency_s * 1e3:.0f} ms latency, concurrency {concurrency}"
    )
    print(
        f"  model calls {calls}, peak in flight {stats['max_in_flight']}, failed samples {failed}"
    )
    print(
        f"  wall {wall:6.3f} s (client cpu {cpu:5.3f} s)   critical-path bound {bound:5.3f} s   "
        f"ratio {wall / bound:5.3f}x"
    )
    print(
        f"  the same chains as a bare asyncio + litellm.acompletion loop: {bare_wall:6.3f} s; "
        f"adf / bare = {wall / bare_wall:5.3f}x"
    )
    print(
        f"  bare litellm's client cpu alone: {cpu_per_call * 1e3:.2f} ms/call x {calls} calls = "
        f"{cpu_bound:5.3f} s on one core; max(bounds) = {max(bound, cpu_bound):5.3f} s, "
        f"ratio {wall / max(bound, cpu_bound):5.3f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="adf model-call overhead benchmark")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load:.2f}")
    cpu_per_call = asyncio.run(per_call_overhead(args.calls, args.rounds))
    asyncio.run(forward_pass(args.samples, args.concurrency, args.latency, cpu_per_call))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
