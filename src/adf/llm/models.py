"""Which model answers each declared name, after run-time overrides.

Takes a plan's `ModelDecl`s, `ModelOverrides` (from `--model NAME=LITELLM_MODEL`
and `--api-base NAME=URL`) and the environment (`ADF_MODEL_<NAME>`,
`ADF_API_BASE_<NAME>`, upper-cased); gives one `ResolvedModel` per name and
`open_models`, an async context manager that starts adf's local llama.cpp
server when a resolved model needs it and yields a `ModelSession` (the
client plus the resolved models). Requests are built from
`ResolvedModel.effective_decl()` by `adf.llm.requests.build_request`, the
one request builder.

Precedence: command line, then environment, then the `.adf` file. An empty
`--api-base NAME=` clears a declared api_base. The model string `"local"`
means adf's own server: litellm model `openai/local`, whose api_base is the
server started by `open_models` (or `ADF_LOCAL_API_BASE`). `env(...)`
options stay variable *names*: `api_key` becomes `api_key_env`, any other
becomes an `env.<option>` extra the client reads at call time; only an
`env(...)` api_base is read here, because it decides where calls go.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

import attrs

from adf.diagnostics import Span
from adf.llm.catalogue import DEFAULT_LOCAL_CONTEXT, LOCAL_MODEL, is_local
from adf.llm.client import LiteLLMClient
from adf.plan.schema import EnvRef, ModelDecl, OptionValue

Scalar = str | int | float | bool
_FIELDS = frozenset({"api_base", "api_key", "temperature", "max_tokens", "context"})


class ModelConfigError(ValueError):
    """A model that cannot be resolved; the message is one line for the user."""


@attrs.frozen
class ModelOverrides:
    """Run-time replacements, by declared model name."""

    models: tuple[tuple[str, str], ...] = ()
    api_bases: tuple[tuple[str, str], ...] = ()


def parse_overrides(models: Sequence[str] = (), api_bases: Sequence[str] = ()) -> ModelOverrides:
    """Parse `NAME=VALUE` items of `--model` and `--api-base`."""

    def pairs(items: Sequence[str], flag: str, allow_empty: bool) -> tuple[tuple[str, str], ...]:
        out: dict[str, str] = {}
        for item in items:
            name, sep, value = item.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not name or (not value and not allow_empty):
                raise ModelConfigError(
                    f"{flag} expects NAME=VALUE (e.g. {flag} student=openai/gpt-4o-mini), "
                    f"found {item!r}"
                )
            out[name] = value
        return tuple(sorted(out.items()))

    return ModelOverrides(
        pairs(models, "--model", allow_empty=False), pairs(api_bases, "--api-base", True)
    )


@attrs.frozen
class ResolvedModel:
    """One declared model as it will be called."""

    name: str
    model: str  # litellm model string; "openai/local" for adf's local server
    api_base: str | None
    temperature: float | None
    max_tokens: int | None
    api_key_env: str | None
    context: int | None  # declared context window (tokens), if any
    local: bool  # served by adf's local llama.cpp server
    extra: tuple[tuple[str, Scalar], ...] = ()  # other options, for the client
    decl: ModelDecl | None = None  # the declaration as written
    api_base_env: str | None = None  # the variable api_base was read from (`env(...)`)

    @property
    def needs_local_server(self) -> bool:
        return self.local and self.api_base is None

    def effective_decl(self) -> ModelDecl:
        """A `ModelDecl` with the overrides applied (for `adf.llm.requests.build_request`)."""
        options: list[tuple[str, OptionValue]] = []
        if self.api_base is not None:
            options.append(("api_base", self.api_base))
        if self.api_key_env is not None:
            options.append(("api_key", EnvRef(self.api_key_env)))
        if self.temperature is not None:
            options.append(("temperature", self.temperature))
        if self.max_tokens is not None:
            options.append(("max_tokens", self.max_tokens))
        if self.context is not None:
            options.append(("context", self.context))
        for key, value in self.extra:
            options.append(
                (key[4:], EnvRef(str(value))) if key.startswith("env.") else (key, value)
            )
        span = self.decl.span if self.decl is not None else Span(1, 1, 1, 1)
        return ModelDecl(self.name, self.model, tuple(options), span)


def env_name(prefix: str, model_name: str) -> str:
    """`ADF_MODEL_STUDENT` for ("ADF_MODEL", "student")."""
    return f"{prefix}_{model_name.upper()}"


def resolve_models(
    decls: Sequence[ModelDecl],
    overrides: ModelOverrides | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, ResolvedModel]:
    """Resolve every declaration; raises `ModelConfigError` for an unusable one."""
    env = os.environ if environ is None else environ
    overrides = overrides or ModelOverrides()
    declared = {d.name: d for d in decls}
    for flag, items in (("--model", overrides.models), ("--api-base", overrides.api_bases)):
        for name, _ in items:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise ModelConfigError(
                    f"{flag} names model '{name}', which is not declared (declared: {known})"
                )
    model_over = dict(overrides.models)
    base_over = dict(overrides.api_bases)
    return {d.name: _resolve(d, model_over, base_over, env) for d in decls}


def _resolve(
    decl: ModelDecl,
    model_over: Mapping[str, str],
    base_over: Mapping[str, str],
    env: Mapping[str, str],
) -> ResolvedModel:
    name = decl.name
    options = dict(decl.options)
    model = model_over.get(name) or env.get(env_name("ADF_MODEL", name)) or decl.model
    model = model.strip()
    local = is_local(model)
    if local:
        model = LOCAL_MODEL

    api_base: str | None
    base_env: str | None = None
    if name in base_over:
        api_base = base_over[name] or None
    elif env.get(env_name("ADF_API_BASE", name)):
        api_base = env[env_name("ADF_API_BASE", name)]
    else:
        declared_base = options.get("api_base")
        if isinstance(declared_base, EnvRef):
            base_env = declared_base.name
            api_base = env.get(declared_base.name) or None
            if api_base is None:
                raise ModelConfigError(
                    f"model '{name}' takes its api_base from the environment variable "
                    f"{declared_base.name}, which is not set"
                )
        elif isinstance(declared_base, str) and declared_base:
            api_base = declared_base
        else:
            api_base = None
    if api_base is not None:
        api_base = api_base.rstrip("/")

    api_key = options.get("api_key")
    if api_key is not None and not isinstance(api_key, EnvRef):
        raise ModelConfigError(
            f"model '{name}': api_key must come from the environment, e.g. "
            'api_key: env("OPENAI_API_KEY"); a literal key would be stored in the plan'
        )

    extra: list[tuple[str, Scalar]] = []
    for key, value in decl.options:
        if key in _FIELDS:
            continue
        if isinstance(value, EnvRef):
            extra.append((f"env.{key}", value.name))
        else:
            extra.append((key, value))

    return ResolvedModel(
        name=name,
        model=model,
        api_base=api_base,
        temperature=_number(options.get("temperature"), name, "temperature"),
        max_tokens=_integer(options.get("max_tokens"), name, "max_tokens"),
        api_key_env=api_key.name if isinstance(api_key, EnvRef) else None,
        context=_integer(options.get("context"), name, "context"),
        local=local,
        extra=tuple(extra),
        decl=decl,
        api_base_env=base_env,
    )


def _number(value: OptionValue | None, model: str, option: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelConfigError(f"model '{model}': {option} must be a number, found {value!r}")
    return float(value)


def _integer(value: OptionValue | None, model: str, option: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelConfigError(
            f"model '{model}': {option} must be a positive integer, found {value!r}"
        )
    return value


# --- a session: the client plus the resolved models ----------------------------------


class HasBaseUrl(Protocol):
    @property
    def base_url(self) -> str: ...


LocalServerFactory = Callable[[int], contextlib.AbstractContextManager[HasBaseUrl]]


def default_local_identity() -> str | None:
    """What the local server runs, stable across runs: the GGUF's file name and size.

    None for a server named by ``ADF_LOCAL_API_BASE`` (its URL identifies it).
    """
    from adf.local.model import locate_model
    from adf.local.server import external_base_url

    if external_base_url() is not None:
        return None
    path = locate_model()
    return f"{path.name}:{path.stat().st_size}"


def default_local_server(n_ctx: int) -> contextlib.AbstractContextManager[HasBaseUrl]:
    """adf's shared llama.cpp server with a context of `n_ctx` tokens."""
    from adf.local.server import ServerSettings, external_base_url, shared_server

    if external_base_url() is not None:
        return shared_server(None)
    return shared_server(ServerSettings.default(n_ctx=n_ctx))


@attrs.frozen
class ModelSession:
    """What a run needs to call models: the client and the models by declared name."""

    client: LiteLLMClient
    models: Mapping[str, ResolvedModel]
    local_base_url: str | None = None


@contextlib.asynccontextmanager
async def open_models(
    models: Mapping[str, ResolvedModel],
    client: LiteLLMClient,
    *,
    local_server: LocalServerFactory = default_local_server,
    local_identity: Callable[[], str | None] = default_local_identity,
) -> AsyncIterator[ModelSession]:
    """Start the local server if a model needs it, yield a session, stop the server.

    `client` makes the calls; it is told to scrub every api_base read from
    the environment (`env(...)`), which may carry a token. The local server
    gets the largest `context` declared by a local model (default 2048).
    Starting it blocks for a second or two, so it runs in a worker thread.
    Requests to it carry a `local_model` extra naming the model file (see
    `default_local_identity`), so the reply cache keeps working although the
    server's port changes from run to run.
    """
    client.add_secrets(m.api_base for m in models.values()
                       if m.api_base_env is not None and m.api_base is not None)
    try:
        async with _local_server(models, local_server, local_identity) as bound:
            yield ModelSession(client, bound[0], bound[1])
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def _local_server(
    models: Mapping[str, ResolvedModel],
    local_server: LocalServerFactory,
    local_identity: Callable[[], str | None],
) -> AsyncIterator[tuple[Mapping[str, ResolvedModel], str | None]]:
    """The models bound to a started local server (and its URL) if one needs it."""
    needing = [m for m in models.values() if m.needs_local_server]
    if not needing:
        yield dict(models), None
        return
    n_ctx = max((m.context or DEFAULT_LOCAL_CONTEXT) for m in needing)
    server = local_server(n_ctx)
    handle = await asyncio.to_thread(server.__enter__)
    try:
        base = handle.base_url.rstrip("/")
        identity = local_identity()
        tag: tuple[tuple[str, Scalar], ...] = (
            () if identity is None else (("local_model", identity),)
        )
        bound = {
            name: attrs.evolve(m, api_base=base, extra=m.extra + tag) if m.needs_local_server else m
            for name, m in models.items()
        }
        yield bound, base
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)
