"""adf: a typed language and compiler for training LLM workflows.

The public API is imported lazily so that `import adf` stays cheap; heavy
layers (the runtime and litellm) load only when a model is called.
"""

from __future__ import annotations

__version__ = "0.1.0"
