"""litellm, imported once and configured quietly.

Takes nothing; gives `load_litellm()`, the one place adf imports litellm
(lazily: importing it takes seconds, so nothing does it at import time).
It reads the price table bundled with litellm instead of fetching it,
turns telemetry and debug output off, and silences litellm's loggers.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any


@functools.cache
def load_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    for flag, value in (
        ("suppress_debug_info", True),
        ("set_verbose", False),
        ("telemetry", False),
    ):
        setattr(litellm, flag, value)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm
