"""adf's local model: SmolLM2-135M-Instruct served by llama-cpp-python.

`adf.local.model` locates the GGUF file (``ADF_LOCAL_MODEL_PATH`` overrides it)
and checks the server package is installed; `adf.local.server` starts, shares
and stops the OpenAI-compatible server (``ADF_LOCAL_API_BASE`` reuses a running
one); `adf.local.child` is the watchdog wrapper the server runs under. Nothing
is imported here, so ``import adf.local`` stays instant. See docs/local-model.md.
"""
