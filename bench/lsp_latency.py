"""How long the language server takes from a keystroke to fresh diagnostics.

For every example program and a generated program of about 5,000 lines,
`adfc lsp` runs in a child process driven over stdio by pygls's client,
like an editor would. After the file is opened and a few warm-up edits,
each measured edit sends one `textDocument/didChange` (the whole text with
a comment typed at the end of its middle line, a new one each time, so no
result can come from a cache) and waits for
the `textDocument/publishDiagnostics` of that version. Reported: p50 and p95
of that latency (the server's debounce included) and the server's CPU time
per edit (from /proc, so Linux only), and, measured in the same run on the
same text:
  - `check` in-process: best of `--repeat` runs (wall clock and CPU time) of
    what `adfc check FILE` does after Python has started (read, compile,
    lint, render);
  - `adfc check` as a command: median of `--starts` subprocess runs.
On a loaded machine the wall-clock figures swing; the CPU ratio (server CPU
per edit over check CPU) is the stable one.
Goals: p95 <= 50 ms on the examples, <= 300 ms on the large program.

Run: `python bench/lsp_latency.py [--edits 30] [--repeat 5] [--starts 3] [--debounce-ms 20]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(REPO.glob("examples/*/*.adf"))

HEADER = '''# A generated program for the latency benchmark.
model m = "openai/gpt-4o-mini" { temperature: 0, max_tokens: 64 }
param inst: prompt "the instruction" = """Answer briefly.
Think first."""
param fmt: prompt frozen = "Reply on one line."
input question: str
target answer: str
fn strip(text: str) -> str = std.parse.strip
'''

BLOCK = '''
# stage {i}
param hint{i}: prompt "how stage {i} should answer" = """Stage {i}: read the text,
then answer in one line."""
llm stage{i}(text: str, extra: str) -> str using m {{
  system: [inst, hint{i}, fmt]
  user: """Text: {{text}}
Extra: {{extra}}"""
}}
node a{i} = stage{i}(question, {prev})
node b{i} = strip(a{i})
'''


def generated(lines: int) -> str:
    parts = [HEADER]
    prev = "question"
    i = 0
    while sum(p.count("\n") for p in parts) < lines - 3:
        parts.append(BLOCK.format(i=i, prev=prev))
        prev = f"b{i}"
        i += 1
    parts.append(f"\nloss score = std.loss.exact_match({prev}, answer)\noutput {prev}\n")
    return "".join(parts)


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("adf-bench", "1")
        self.waiting: dict[tuple[str, int], asyncio.Future[float]] = {}
        self.server_pid = 0

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            future = self.waiting.pop((params.uri, params.version or 0), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(client: Client, path: Path, text: str, edits: int) -> tuple[list[float], float]:
    """Wall-clock latencies of the measured edits, and the server's CPU seconds per edit."""
    uri = path.as_uri()
    loop = asyncio.get_running_loop()

    def expect(version: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = loop.create_future()
        client.waiting[(uri, version)] = future
        return future

    opened = expect(1)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "adf", 1, text))
    )
    await asyncio.wait_for(opened, 120)
    lines = text.split("\n")
    middle = len(lines) // 2
    latencies = []
    pid = client.server_pid
    cpu_start = 0.0
    for version in range(2, edits + 5):
        if version == 5:
            cpu_start = cpu_seconds(pid)
        edited = [*lines[:middle], f"{lines[middle]}  # edit {version}", *lines[middle + 1 :]]
        changed = "\n".join(edited)
        done = expect(version)
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(changed)],
            )
        )
        end = await asyncio.wait_for(done, 120)
        if version > 4:  # the first three edits warm the server up
            latencies.append(end - start)
    cpu = (cpu_seconds(pid) - cpu_start) / len(latencies)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    return latencies, cpu


def check_in_process(path: Path, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `adfc check PATH` run in this process."""
    from adf.cli import check

    parser = argparse.ArgumentParser()
    check.configure(parser)
    args = parser.parse_args([str(path)])
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            check.execute(args)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu


def check_command(path: Path, starts: int) -> float:
    times = []
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "adf.cli.main", "check", str(path)],
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, files: list[tuple[str, Path, str]]) -> None:
    client = Client()
    await client.start_io(sys.executable, "-m", "adf.cli.main", "lsp")
    assert client._server is not None
    client.server_pid = client._server.pid
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"debounceMs": args.debounce_ms},
        )
    )
    client.initialized(types.InitializedParams())
    print(
        f"{'file':<20}{'lines':>6}{'p50 ms':>8}{'p95 ms':>8}{'check ms':>10}{'adfc check':>11}"
        f"{'p50/check':>10}{'p95/check':>10}{'p95/adfc':>9}{'cpu/edit':>10}{'check cpu':>10}"
        f"{'cpu ratio':>10}  goal"
    )
    for label, path, text in files:
        latencies, cpu = await measure(client, path, text, args.edits)
        inside, inside_cpu = check_in_process(path, args.repeat)
        command = check_command(path, args.starts)
        low, high = statistics.median(latencies), p95(latencies)
        goal = 0.300 if label == "generated" else 0.050
        print(
            f"{label[:19]:<20}{text.count(chr(10)):>6}{low * 1e3:>8.1f}{high * 1e3:>8.1f}"
            f"{inside * 1e3:>10.1f}{command * 1e3:>11.1f}{low / inside:>9.2f}x{high / inside:>9.2f}x"
            f"{high / command:>8.2f}x{cpu * 1e3:>10.1f}{inside_cpu * 1e3:>10.1f}"
            f"{cpu / inside_cpu:>9.2f}x  {'met' if high <= goal else 'missed'} (p95 <= {goal * 1e3:.0f} ms)"
        )
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=30, help="measured edits per file")
    parser.add_argument("--repeat", type=int, default=5, help="in-process check runs (best of)")
    parser.add_argument("--starts", type=int, default=3, help="adfc check subprocess runs (median)")
    parser.add_argument("--lines", type=int, default=5000, help="size of the generated program")
    parser.add_argument("--debounce-ms", type=float, default=20, help="the server's debounce")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "generated.adf"
        big.write_text(generated(args.lines), encoding="utf-8")
        files = [(p.name, p, p.read_text(encoding="utf-8")) for p in EXAMPLES]
        files.append(("generated", big, big.read_text(encoding="utf-8")))
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores; debounce {args.debounce_ms:g} ms")
        asyncio.run(run(args, files))


if __name__ == "__main__":
    main()
