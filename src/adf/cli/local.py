"""`adfc local status|serve|path`: check, start or locate the local model.

Takes the sub-action and its options; gives an exit status (0 ok, 1 when
something the local model needs is missing or does not work, 2 usage).

- ``path``: print the GGUF file adf would load.
- ``status``: is llama-cpp-python installed, where is the model, and (unless
  ``--no-start``) can a server start and answer one short chat request.
- ``serve``: run the server in the foreground until Ctrl-C, printing the
  ``ADF_LOCAL_API_BASE`` line that lets other adf commands reuse it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata
from types import FrameType
from typing import Any

from adf.cli._args import port


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("path", help="print the GGUF file the local model is loaded from")
    status = actions.add_parser("status", help="check the local model end to end")
    status.add_argument(
        "--no-start", action="store_true", help="only check installation, start no server"
    )
    status.add_argument("--json", action="store_true", help="print a machine-readable summary")
    serve = actions.add_parser("serve", help="run the local server until Ctrl-C")
    serve.add_argument("--port", type=port, default=None, help="port (default: a free one)")
    serve.add_argument("--context", type=int, default=2048, help="context size in tokens")
    serve.add_argument("--threads", type=int, default=1, help="CPU threads (1 is steadiest)")


def execute(args: argparse.Namespace) -> int:
    action: str = args.action
    if action == "path":
        return _path()
    if action == "status":
        return _status(no_start=bool(args.no_start), as_json=bool(args.json))
    return _serve(port=args.port, context=args.context, threads=args.threads)


def _path() -> int:
    from adf.local.model import LocalModelError, locate_model

    try:
        print(locate_model())
    except LocalModelError as exc:
        print(f"adfc local: {exc}", file=sys.stderr)
        return 1
    return 0


def _status(*, no_start: bool, as_json: bool) -> int:
    from adf.local.model import LocalModelError, locate_model, require_server
    from adf.local.server import API_BASE_ENV, LocalServer, external_base_url

    report: dict[str, Any] = {"ok": True}
    lines: list[str] = []

    def fail(key: str, message: str) -> None:
        report["ok"] = False
        report[key] = {"ok": False, "error": message}
        lines.append(f"  {key + ':':10s} FAILED  {message}")

    external = external_base_url()
    if external is None:
        try:
            require_server()
            version = _version("llama_cpp_python")
            report["llama_cpp"] = {"ok": True, "version": version}
            lines.append(f"  {'server:':10s} ok      llama-cpp-python {version}")
        except LocalModelError as exc:
            fail("llama_cpp", str(exc))
        try:
            path = locate_model()
            size_mb = path.stat().st_size / 1e6
            report["model"] = {"ok": True, "path": str(path), "size_mb": round(size_mb, 1)}
            lines.append(f"  {'model:':10s} ok      {path} ({size_mb:.0f} MB)")
        except LocalModelError as exc:
            fail("model", str(exc))
    else:
        report["external"] = external
        lines.append(f"  {'server:':10s} reuse   {API_BASE_ENV}={external}")

    if not no_start and report["ok"]:
        try:
            started = time.monotonic()
            with LocalServer() as server:
                ready_s = time.monotonic() - started
                reply, seconds = _ask(server.base_url)
            report["answer"] = {
                "ok": True,
                "ready_s": round(ready_s, 2),
                "reply_s": round(seconds, 2),
                "reply": reply,
            }
            lines.append(
                f"  {'answer:':10s} ok      ready in {ready_s:.1f} s, replied in {seconds:.1f} s:"
                f" {reply[:60]!r}"
            )
        except (LocalModelError, OSError, ValueError, KeyError) as exc:
            fail("answer", str(exc))

    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print("local model: " + ("ready" if report["ok"] else "NOT ready"))
        print("\n".join(lines))
        if not report["ok"] and external is None:
            print("  set it up with: scripts/setup.sh --local")
    return 0 if report["ok"] else 1


def _ask(base_url: str) -> tuple[str, float]:
    body = {
        "model": "local",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0,
        "max_tokens": 16,
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"the server answered HTTP {exc.code} to a chat request") from None
    content = data["choices"][0]["message"]["content"]
    return str(content).strip(), time.monotonic() - started


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown version"


def _serve(*, port: int | None, context: int, threads: int) -> int:
    from adf.local.model import LocalModelError
    from adf.local.server import API_BASE_ENV, LITELLM_MODEL, LocalServer, ServerSettings

    if context < 64 or threads < 1 or (port is not None and not 0 < port < 65536):
        print(
            "adfc local serve: --context >= 64, --threads >= 1, 0 < --port < 65536", file=sys.stderr
        )
        return 2
    environ = {k: v for k, v in os.environ.items() if k != API_BASE_ENV}

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        base = ServerSettings.default(environ=environ)
        settings = ServerSettings(base.model_path, n_ctx=context, n_threads=threads)
        with LocalServer(settings, port=port, environ=environ) as server:
            print(f"local model {settings.model_path.name} serving at {server.base_url}")
            print(f"  reuse it from other adf commands: export {API_BASE_ENV}={server.base_url}")
            print(f"  litellm: model={LITELLM_MODEL!r}, api_base={server.base_url!r}")
            print("  press Ctrl-C to stop", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("stopping the local server", file=sys.stderr)
    except LocalModelError as exc:
        print(f"adfc local serve: {exc}", file=sys.stderr)
        return 1
    return 0
