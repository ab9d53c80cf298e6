"""Where one model call's client CPU goes: a driver to sample, and the table of the samples.

`run MODE CALLS` makes CALLS sequential chat calls at 0 ms server latency to
the fake server in a child process (as part 1 of `runtime_overhead.py`):
MODE `bare` (a default `litellm.acompletion`), `nocache` or `cache`
(`LiteLLMClient`, every call a cache miss; on the OpenAI SDK route with
`ADF_LLM_ROUTE=sdk` in the environment). Sample it with a profiler that
sees every thread (litellm builds the provider call in a worker thread) and
costs little per sample, then sort the samples into the table of
bench/README.md:

    py-spy record -r 1000 -f raw --threads -o nocache.raw -- \\
        python bench/call_profile.py run nocache 1500
    python bench/call_profile.py table nocache.raw

Each sample goes to the first part whose test its stack passes, so the parts
do not overlap; only samples of the timed loop (and of litellm's worker
thread) count, not those of the warm-up calls before it, and no sample inside
an import (litellm imports some modules on first use, and builds some pydantic
schemas then: a short run would otherwise put a fifth of its samples there).
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

Test = Callable[[str], bool]


def _has(*parts: str) -> Test:
    return lambda stack: any(p in stack for p in parts)


PARTS: tuple[tuple[str, Test], ...] = (
    ("adf: reply cache (key hash, SQLite lookup and insert)", _has("adf/llm/cache.py")),
    ("HTTP transport (aiohttp or httpx2/httpcore/h11)",
     _has("aiohttp/", "httpcore", "/h11/", "httpx2/_transports", "httpx_aiohttp")),
    ("OpenAI SDK: parsing the reply into its pydantic models", _has("_legacy_response.py")),
    ("OpenAI SDK: building the request (URL, headers, JSON body)", _has("._build_request")),
    ("OpenAI SDK: the rest (options, auth wrapper, send)", _has("(openai/")),
    ("litellm: reply conversion (convert_to_model_response_object)",
     _has("convert_to_model_response_object")),
    ("litellm: generic HTTP route (llm_http_handler: request and reply transforms)",
     _has("llm_http_handler.py", "hosted_vllm/")),
    ("litellm: OpenAI handler (request transform, pre/post-call logging)",
     _has("OpenAIChatCompletion.", "gpt_transformation.py")),
    ("litellm: pricing the reply and success logging",
     _has("response_cost_calculator", "success_handler", "logging_worker", "cost_calculator")),
    ("litellm: completion() in its worker thread (params, provider config, checks)",
     _has(";completion (litellm/main.py")),
    ("litellm: Logging object (function_setup)", _has("function_setup")),
    ("litellm: response metadata (update_response_metadata)", _has("update_response_metadata")),
    ("litellm: handing completion() to its worker thread (run_in_executor)",
     _has("BaseEventLoop.run_in_executor")),
    ("litellm: the rest (acompletion argument handling, @client wrapper)", _has("litellm/")),
    ("adf: request, payload, retries, gates, traces", _has("adf/llm/")),
    ("event loop and worker-thread hop", _has("asyncio/", "concurrent/futures", "threading.py")),
)


def _timed(stack: str) -> bool:
    in_loop = "timed_calls (" in stack or ";completion (litellm/main.py" in stack
    return in_loop and "_find_and_load" not in stack


def table(raw: Path) -> str:
    """The parts' shares of the samples in a py-spy raw (collapsed stacks) file."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not _timed(stack):
            continue
        part = next((name for name, test in PARTS if test(stack)), "other")
        counts[part] += int(n)
    total = sum(counts.values()) or 1
    rows = [f"| {name} | {100 * counts[name] / total:4.1f}% |"
            for name in [*(name for name, _ in PARTS), "other"] if counts[name]]
    return "\n".join(["| part of the call | share of samples |", "|---|---|", *rows])


async def run(mode: str, calls: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import runtime_overhead as bench

    from adf.llm.cache import ReplyCache
    from adf.llm.client import LiteLLMClient, RetryPolicy
    from adf.llm.provider import load_litellm
    from adf.testing.fake_process import FakeServerProcess

    litellm = load_litellm()
    with tempfile.TemporaryDirectory() as tmp, FakeServerProcess(0.0) as srv:
        cache = ReplyCache(Path(tmp) / "cache.sqlite") if mode == "cache" else None
        client = LiteLLMClient(cache=cache, retry=RetryPolicy(), timeout_s=30.0)

        async def calls_of(n: int, tag: str) -> None:
            if mode == "bare":
                await bench.bare_loop(litellm, srv.base_url, n, tag)
            else:
                await bench.adf_loop(client, srv.base_url, n, tag)

        async def timed_calls(n: int) -> float:  # the frame `table` counts samples under
            started = time.process_time()
            await calls_of(n, "timed")
            return time.process_time() - started

        await calls_of(30, "warm")  # lazy imports, schema builds, connections
        spent = await timed_calls(calls)
        print(f"{mode}: {spent / calls * 1e3:.3f} ms cpu per call")
        await client.aclose()
        if cache is not None:
            cache.close()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "run" and argv[1] in ("bare", "nocache", "cache"):
        asyncio.run(run(argv[1], int(argv[2])))
        return 0
    if len(argv) == 2 and argv[0] == "table":
        print(table(Path(argv[1])))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
