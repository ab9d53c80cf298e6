"""Run ``llama_cpp.server`` in this process, exiting when the parent goes away.

Takes argv ``FD SERVER-ARGS...``: FD is the read end of a pipe whose write
end only the parent holds. A daemon thread blocks reading it; end of file
means the parent closed it (a clean stop) or died (even by SIGKILL), and the
process exits at once, so the server never outlives adf. The remaining
arguments go to ``python -m llama_cpp.server`` unchanged.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os._exit(0)


def main(argv: list[str]) -> None:
    if not argv or not argv[0].isdigit():
        print("usage: python -m adf.local.child FD [llama_cpp.server args...]", file=sys.stderr)
        raise SystemExit(2)
    threading.Thread(target=_watch, args=(int(argv[0]),), daemon=True).start()
    sys.argv = ["llama_cpp.server", *argv[1:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
