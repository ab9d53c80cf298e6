"""Do both of litellm's routes send the examples' requests the same? The bodies the fake
server receives from one training step of every example, on each route, compared.

For every example under `examples/` (or those named), runs `adfc train` for one step
on the fake OpenAI server twice with no reply cache: once as adf sends by default
(litellm's generic HTTP route for an `openai/<name>` model with an `api_base`,
`adf.llm.connections`) and once with `ADF_LLM_ROUTE=sdk` (every call through the
OpenAI SDK). Every model of the example is pointed at the server as `openai/local`,
so structured replies are asked for as they are from adf's local server (a
`json_object` with the schema); the agent examples' tool calls take the SDK route
on both runs. The server's fake model answers from each request's content
(`adf.testing.hashmodel`), so the same requests get the same replies and both runs
make the same calls. Prints, per example, the requests of each run, how many
distinct bodies they held, and whether the two runs' bodies are the same (as
multisets of canonical JSON: concurrent calls arrive in any order), and the share
of each run's requests that went the generic route (the server sees the OpenAI
SDK's own headers on the others).

Run: `python bench/route_bodies.py [--examples gsm8k sst5]`
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from adf.cli.main import main
from adf.llm.connections import ROUTE_ENV
from adf.testing.fake_server import FakeServer
from adf.testing.hashmodel import respond

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SDK_HEADER = "x-stainless-lang"  # the OpenAI SDK names itself; litellm's own handler does not


def _models(program: Path) -> list[str]:
    return re.findall(r"^model\s+(\w+)\s*=", program.read_text(encoding="utf-8"), re.M)


def one_step(program: Path, url: str, work: Path, route: str) -> None:
    copy = work / "program"
    if not copy.exists():  # a copy: the lock files a run writes stay out of examples/
        shutil.copytree(program.parent, copy)
    argv = ["train", str(copy / program.name), "--steps", "1", "--batch-size", "4",
            "--proposals", "2", "--demo-proposals", "1", "--seed", "0", "--train-limit", "12",
            "--val-limit", "6", "--test-limit", "6", "--out", str(work / route), "--no-lock",
            "--force", "--quiet", "--no-cache"]
    for model in _models(program):
        argv += ["--model", f"{model}=openai/local", "--api-base", f"{model}={url}"]
    before = os.environ.get(ROUTE_ENV)
    os.environ[ROUTE_ENV] = route
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
    finally:
        if before is None:
            os.environ.pop(ROUTE_ENV, None)
        else:
            os.environ[ROUTE_ENV] = before
    if code != 0:
        raise SystemExit(f"{program.name}: adfc train exited {code}")


def label(program: Path) -> str:
    return program.stem if len(list(program.parent.glob("*.adf"))) > 1 else program.parent.name


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", nargs="*", default=None)
    args = parser.parse_args()
    programs = sorted(p for p in EXAMPLES.glob("*/*.adf")
                      if args.examples is None or p.parent.name in args.examples
                      or p.stem in args.examples)
    print(f"{'example':<18} {'requests':>9} {'distinct':>8} {'generic route':>13} "
          f"{'with schema':>11} {'with tools':>10}  same bodies")
    differing = 0
    with FakeServer(respond) as server, tempfile.TemporaryDirectory() as tmp:
        for program in programs:
            seen: dict[str, collections.Counter[str]] = {}
            generic = shapes = tools = 0
            for route in ("generic", "sdk"):
                server.reset()
                one_step(program, server.base_url, Path(tmp) / label(program), route)
                bodies = server.requests
                seen[route] = collections.Counter(
                    json.dumps(b, sort_keys=True, ensure_ascii=False) for b in bodies)
                if route == "generic":
                    generic = sum(SDK_HEADER not in h for h in server.headers)
                    shapes = sum("response_format" in b for b in bodies)
                    tools = sum("tools" in b for b in bodies)
            same = seen["generic"] == seen["sdk"]
            differing += not same
            count = sum(seen["generic"].values())
            print(f"{label(program):<18} {count:>4}/{sum(seen['sdk'].values()):<4} "
                  f"{len(seen['generic']):>8} {generic:>13} {shapes:>11} {tools:>10}  "
                  f"{'yes' if same else 'NO'}")
            sys.stdout.flush()
    print(f"examples whose bodies differ between the routes: {differing}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main_bench())
