"""litellm, imported once and configured quietly.

Takes nothing; gives `load_litellm()`, the one place adf imports litellm
(lazily: importing it takes seconds, so nothing does it at import time),
and `call_id()`, the `litellm_call_id` that marks a call as adf's own.
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
coroutines only (`OpenAIChatCompletion.acompletion` on the SDK route,
`BaseLLMHTTPHandler.async_completion` on its generic HTTP route), is silenced.

Per-call bookkeeping adf does itself. After every answered call litellm
prices the reply from its model table (`Logging.response_cost_calculator`,
a search through model-name generalisations for a model it does not know)
and builds a standard logging payload for its success callbacks
(`Logging._async_success_handler_body`), about a fifth of its CPU per call
even when no callback is registered; it has no setting to skip either. adf
prices a reply from its own catalogue (`adf.llm.catalogue.price`) and
traces calls through its own sinks, so for calls whose `litellm_call_id`
comes from `call_id()` both are skipped, as long as no litellm callback is
registered (globally or on the call). Every other call, and every adf call
once a callback is registered, takes litellm's full path.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import uuid
import warnings
from typing import Any

CALL_ID_PREFIX = "adf-"


_PROCESS = uuid.uuid4().hex[:12]  # ids stay unique across processes sharing litellm callbacks
_CALLS = itertools.count()


def call_id() -> str:
    """A fresh `litellm_call_id` for one of adf's calls (see the module docstring)."""
    return f"{CALL_ID_PREFIX}{_PROCESS}-{next(_CALLS)}"


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
    quiet_unstarted_calls()
    # a reply whose usage is not integers: the call fails with its own message, not this noise
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)
    _skip_own_bookkeeping(litellm)
    return litellm


def quiet_unstarted_calls() -> None:
    """Silence "never awaited" for litellm's provider coroutines (see the module docstring)."""
    warnings.filterwarnings(
        "ignore", message=r"coroutine '\w+\.(?:a|async_)?completion' was never awaited",
        category=RuntimeWarning)


_GLOBAL_CALLBACKS = (
    "callbacks", "input_callback", "success_callback", "_async_success_callback",
    "service_callback",
)
_CALL_CALLBACKS = ("dynamic_success_callbacks", "dynamic_async_success_callbacks")


def adf_priced(litellm: Any, logging_obj: Any) -> bool:
    """Whether litellm may skip its pricing and success logging for this call: adf made it
    and nobody registered a litellm callback that would read them."""
    call = getattr(logging_obj, "litellm_call_id", None)
    if not (isinstance(call, str) and call.startswith(CALL_ID_PREFIX)):
        return False
    if any(getattr(litellm, name, None) for name in _GLOBAL_CALLBACKS):
        return False
    return not any(getattr(logging_obj, name, None) for name in _CALL_CALLBACKS)


def _skip_own_bookkeeping(litellm: Any) -> None:
    """Wrap litellm's per-call pricing and success logging so adf's calls skip them."""
    from litellm.litellm_core_utils import litellm_logging

    Logging: Any = litellm_logging.Logging  # wrapped in place, so typed loosely
    if getattr(Logging, "_adf_skips_bookkeeping", False):
        return
    price_reply = Logging.response_cost_calculator
    log_success = Logging._async_success_handler_body

    @functools.wraps(price_reply)
    def response_cost_calculator(self: Any, *args: Any, **kwargs: Any) -> Any:
        if adf_priced(litellm, self):
            return None  # adf prices the reply from its catalogue
        return price_reply(self, *args, **kwargs)

    @functools.wraps(log_success)
    async def async_success_handler_body(self: Any, *args: Any, **kwargs: Any) -> Any:
        if adf_priced(litellm, self):
            return None  # adf's call traces are its log
        return await log_success(self, *args, **kwargs)

    Logging.response_cost_calculator = response_cost_calculator
    Logging._async_success_handler_body = async_success_handler_body
    Logging._adf_skips_bookkeeping = True
