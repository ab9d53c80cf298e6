"""Scale-out: one evaluation on the default executor against Ray with 1 and 2 workers.

The fake OpenAI server runs in a child process (`adf.testing.fake_process`)
with `--latency` seconds per reply (default 50 ms). The workflow is one llm
node and one parse per sample, no reply cache (every sample is a provider
call). The same samples run, in one process, through
  - default: `evaluate` in this process (asyncio, `--concurrency` in flight);
  - ray-1, ray-2: the Ray executor on a local instance with 2 CPUs, 1 or 2
    shards in flight, the same `--concurrency` as the cluster-wide cap.
For each: wall time, samples/s, throughput against the default, and the
overhead per sample: wall * concurrency / samples - latency, the time one
in-flight slot spends per sample beyond the model's latency (0 is perfect).
Ray's start-up (ray.init, then the executor's node check) is timed apart
and not counted in the runs. Scores are checked equal across executors.

Run: `python bench/scale_out.py [--samples 20000] [--latency 0.05] [--concurrency 64]`
(needs the adf[ray] extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from adf.compiler.pipeline import compile_source
from adf.llm.client import LiteLLMClient
from adf.plan.schema import Plan
from adf.runtime.data import Sample
from adf.runtime.engine import EvalResult, evaluate
from adf.testing.fake_process import FakeServerProcess

SOURCE = '''model m = "openai/fake" {{ api_base: "{base}", temperature: 0 }}
input question: str
target answer: str
llm solve(question: str) -> str using m {{
  system: "Answer the question."
  user: "Question: {{question}}"
}}
node reply = solve(question)
loss ok = std.loss.contains(reply, answer)
output reply
'''


def make_plan(base_url: str, folder: str) -> Plan:
    result = compile_source(SOURCE.format(base=base_url), os.path.join(folder, "bench.adf"))
    assert result.plan is not None, result.diagnostics
    return result.plan


def make_samples(count: int, tag: str) -> tuple[Sample, ...]:
    return tuple(Sample(f"{tag}{i}", (("question", f"{tag} question number {i}?"),),
                        (("answer", "echo"),)) for i in range(count))


def run(plan: Plan, samples: tuple[Sample, ...], concurrency: int,
        executor: Any = None, client: LiteLLMClient | None = None) -> tuple[float, EvalResult]:
    client = client or LiteLLMClient(concurrency=concurrency)
    started = time.perf_counter()
    result = asyncio.run(evaluate(plan, samples, client, concurrency=concurrency,
                                  executor=executor))
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    import ray

    from adf.scale.limits import ClusterLimits
    from adf.scale.ray_executor import RayExecutor, RaySettings
    from adf.scale.worker import ClientSettings

    n, latency, conc = args.samples, args.latency, args.concurrency
    rows: list[tuple[str, float, EvalResult]] = []
    with FakeServerProcess(latency_s=latency) as server, tempfile.TemporaryDirectory() as folder:
        plan = make_plan(server.base_url, folder)
        # warm-up: litellm's first call imports a lot
        run(plan, make_samples(conc, "warm"), conc)
        wall, result = run(plan, make_samples(n, "s"), conc)
        rows.append(("default", wall, result))
        began = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        start_s = time.perf_counter() - began
        for workers in (1, 2):
            client = LiteLLMClient(concurrency=conc)
            settings = RaySettings(workers=workers, limits=ClusterLimits(concurrency=conc),
                                   client=ClientSettings(None, conc, 120.0))
            began = time.perf_counter()
            executor = RayExecutor.open(settings, plan, folder, client)
            check_s = time.perf_counter() - began
            try:
                run(plan, make_samples(conc * workers * 2, f"warm{workers}"), conc,
                    executor, client)  # the workers import litellm once
                wall, result = run(plan, make_samples(n, "s"), conc, executor, client)
            finally:
                executor.close()
            rows.append((f"ray-{workers}", wall, result))
            print(f"ray-{workers}: executor open + node check {check_s:.1f} s")
        ray.shutdown()
        requests = server.stats()
    base_rate = n / rows[0][1]
    base_over = rows[0][1] * conc / n - latency
    print(f"{n} samples, {latency * 1000:.0f} ms fake latency, concurrency {conc}; "
          f"local Ray start {start_s:.1f} s (not counted); server saw {requests}")
    print(f"{'executor':9} {'wall s':>8} {'samples/s':>10} {'x default':>10} "
          f"{'overhead ms/sample':>19} {'x default':>10}")
    for name, wall, result in rows:
        rate = n / wall
        over = wall * conc / n - latency
        print(f"{name:9} {wall:8.1f} {rate:10.1f} {rate / base_rate:10.2f} "
              f"{over * 1000:19.1f} {over / base_over if base_over > 0 else float('nan'):10.2f}")
        assert len(result.samples) == n and not result.errors(), name
        assert result.score == rows[0][2].score, name
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
