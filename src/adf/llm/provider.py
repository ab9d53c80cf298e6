"""litellm, imported once and configured quietly.

Takes nothing; gives `load_litellm()`, the one place adf imports litellm
(lazily: importing it takes seconds, so nothing does it at import time).
It reads the price table bundled with litellm instead of fetching it,
turns telemetry and debug output off, and silences litellm's loggers.

It also sets `LITELLM_MODE=PRODUCTION` (unless the user set it): in its
default "DEV" mode, importing litellm loads the first `.env` file found
from litellm's install folder upwards into the environment, so a stray
`.env` above a virtualenv would silently supply keys and endpoints. adf
reads only the variables its programs name with `env(...)`, from the
environment the user started it in.

litellm's `acompletion` builds the provider's coroutine in a worker thread
(`loop.run_in_executor`); when a run is cancelled (Ctrl-C, SIGTERM) while
that thread is busy, the coroutine it returns is dropped unstarted, so no
request was sent, and Python's "coroutine ... was never awaited" warning
would be printed at exit. That one warning, for litellm's provider
coroutines only, is silenced.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from typing import Any


@functools.cache
def load_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")  # no .env loading at import
    import litellm

    for flag, value in (
        ("suppress_debug_info", True),
        ("set_verbose", False),
        ("telemetry", False),
    ):
        setattr(litellm, flag, value)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings(
        "ignore", message=r"coroutine '\w+\.a?completion' was never awaited",
        category=RuntimeWarning)
    return litellm
