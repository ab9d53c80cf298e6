"""Latency and tokens/s of the local model for a 50-token reply, by thread count.

Starts adf's local server once per thread count (``--n_threads N``; prompt
processing uses ``--batch-threads`` or the same number), sends one warm-up
request, then REPEATS chat requests whose reply is cut at 50 tokens, and
prints latency and generated tokens per second (end to end over HTTP, as
litellm sees it), then the prompt-processing rate for ~1,000-token prompts.
The machine's load average is printed too: other work on the same cores
slows the figures down.

Run: ``python bench/local_speed.py [--threads 1 2] [--batch-threads N] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.request
from typing import Any

from adf.local.server import LocalServer, ServerSettings

MAX_TOKENS = 50
MESSAGES = [
    {"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}
]


def one_request(
    base_url: str, messages: list[dict[str, str]] = MESSAGES, max_tokens: int = MAX_TOKENS
) -> tuple[float, int]:
    body = {"model": "local", "messages": messages, "temperature": 0, "max_tokens": max_tokens}
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as reply:
        data: dict[str, Any] = json.loads(reply.read())
    usage = data["usage"]
    tokens = usage["completion_tokens"] if max_tokens > 1 else usage["prompt_tokens"]
    return time.perf_counter() - start, int(tokens)


def prefill(base_url: str, index: int) -> tuple[float, int]:
    """A ~1,000-token prompt, 1 token out; a fresh first line defeats the prefix cache."""
    text = f"Note {index}.\n" + "The quick brown fox jumps over the lazy dog. " * 100
    return one_request(base_url, [{"role": "user", "content": text}], max_tokens=1)


def measure(threads: int, batch_threads: int | None, repeats: int) -> None:
    settings = ServerSettings.default()
    settings = ServerSettings(settings.model_path, n_threads=threads, n_threads_batch=batch_threads)
    start = time.perf_counter()
    with LocalServer(settings) as server:
        ready = time.perf_counter() - start
        one_request(server.base_url)  # warm-up
        latencies, rates = [], []
        for _ in range(repeats):
            seconds, tokens = one_request(server.base_url)
            latencies.append(seconds)
            rates.append(tokens / seconds)
        fills = [prefill(server.base_url, i) for i in range(max(2, repeats // 2))]
    fill_rate = statistics.median(tokens / seconds for seconds, tokens in fills)
    load = os.getloadavg()[0]
    print(
        f"threads={threads} batch={settings.n_threads_batch or threads}  "
        f"prefill {fill_rate:.0f} tokens/s ({fills[0][1]} tokens)\n"
        f"    ready {ready:.1f}s  latency median {statistics.median(latencies):.2f}s "
        f"(min {min(latencies):.2f}, max {max(latencies):.2f})  tokens/s median "
        f"{statistics.median(rates):.1f} (min {min(rates):.1f}, max {max(rates):.1f})  "
        f"load {load:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{MAX_TOKENS}-token replies, {args.repeats} per setting, {os.cpu_count()} cores")
    for threads in args.threads:
        measure(threads, args.batch_threads, args.repeats)


if __name__ == "__main__":
    main()
