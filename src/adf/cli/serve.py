"""`adfc serve FILE`: serve a workflow over HTTP (needs the `serve` extra).

Takes a `.adf` (compiled, lock file applied unless `--no-lock`) or `.plan`,
the model options of `adfc eval` (`--model`, `--api-base`, `--no-cache`,
`--cache`, `--timeout` per model call) and the server's (`--host`,
`--port`, `--max-concurrent`, `--max-queue`, `--request-timeout`,
`--max-body`); runs the application of `adf.serve.app` on uvicorn until
SIGINT/SIGTERM, then finishes the requests in flight (`--grace` seconds at
most) and stops the models. Endpoints and error codes: docs/serve.md.
Exit status: 1 the workflow does not compile, 2 usage error or the port
cannot be bound; after SIGINT or SIGTERM, uvicorn ends the process with
that signal once the shutdown is done (130 or 143 in a shell).
"""

from __future__ import annotations

import argparse
import sys

from adf.cli._args import grace_seconds, port, positive_int, seconds


def configure(parser: argparse.ArgumentParser) -> None:
    from adf.cli._options import add_override_arguments, add_timeout_argument

    parser.add_argument("file", metavar="FILE", help="a .adf source or a compiled .plan")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                        "127.0.0.1; 0.0.0.0 listens on every interface)")
    parser.add_argument("--port", type=port, default=8000, help="port (default 8000; 0: any free)")
    add_override_arguments(parser)
    add_timeout_argument(parser, 60.0)
    parser.add_argument("--retries", type=int, default=2, metavar="N",
                        help="retries of a failed model call (default 2)")
    parser.add_argument("--max-concurrent", type=positive_int, default=64, metavar="N",
                        help="calls running at once (default 64)")
    parser.add_argument("--max-queue", type=int, default=1024, metavar="N",
                        help="calls waiting for a slot before 503 (default 1024)")
    parser.add_argument("--request-timeout", type=seconds, default=120.0, metavar="S",
                        help="seconds for a whole request, waiting included (default 120)")
    parser.add_argument("--max-body", type=positive_int, default=1_000_000, metavar="BYTES",
                        help="largest request body accepted (default 1000000)")
    parser.add_argument("--max-batch", type=positive_int, default=256, metavar="N",
                        help="most items in one batch request (default 256)")
    parser.add_argument("--grace", type=grace_seconds, default=30.0, metavar="S",
                        help="seconds to finish requests in flight at shutdown (default 30)")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"))


def execute(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from adf.serve.app import ServeSettings, build_app
    except ModuleNotFoundError as exc:
        print(f"adfc serve: {exc.name} is not installed; install adf with the serve extra: "
              "pip install 'adf[serve]'", file=sys.stderr)
        return 2
    from adf.api.flow import Workflow
    from adf.cli._command import load, print_error, run_options
    from adf.workflow import WorkflowError

    if args.max_queue < 0 or args.timeout <= 0 or args.request_timeout <= 0 or args.retries < 0:
        print("adfc serve: --max-queue and --retries must not be negative, timeouts must be "
              "positive", file=sys.stderr)
        return 2
    try:
        loaded = load(args.file, use_lock=not args.no_lock)
    except WorkflowError as exc:
        print_error("serve", exc)
        return exc.status
    options = run_options(args)
    import attrs

    options = attrs.evolve(options, concurrency=args.max_concurrent, timeout_s=args.timeout,
                           retries=args.retries)
    settings = ServeSettings(max_concurrent=args.max_concurrent, max_queue=args.max_queue,
                             request_timeout_s=args.request_timeout,
                             max_body_bytes=args.max_body, max_batch=args.max_batch)
    app = build_app(Workflow(loaded, options), settings)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            timeout_graceful_shutdown=args.grace, lifespan="on",
                            backlog=2048)
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits 3 when it cannot bind (port in use, unknown host)
        return 2
    return 0 if server.started else 2
