"""One record per model call, and where such records go.

Takes what `LiteLLMClient` saw for one call; gives `CallTrace` (the request's
messages, the reply text, tokens, cost, latency, how the cache answered,
retries, which structured-output form was sent, the error if it failed) and
sinks for it: `MemoryTrace` (a list, for tests and summaries) and
`JsonlTraceWriter` (one JSON object per line). A record never holds an API
key: requests carry only the key's variable name, and error texts are
scrubbed of secret values by the client before they get here.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import attrs

from adf.llm.catalogue import SchemaForm
from adf.llm.protocol import ChatReply, ChatRequest, Message, Purpose

CacheOutcome = Literal["hit", "dedup", "miss", "off"]


@attrs.frozen
class CallTrace:
    node: str
    purpose: Purpose
    sample: str
    model: str
    api_base: str | None
    key: str
    messages: tuple[Message, ...]
    text: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    cache: CacheOutcome
    retries: int
    schema_form: SchemaForm  # what was sent as response_format
    structured: Literal["schema", "none"]  # whether the reply came back under a schema
    error: str | None = None
    started_at: float = 0.0  # wall-clock seconds since the epoch
    requests: int = 0  # requests sent to the provider, retries included (0: cache or dedup)

    @classmethod
    def of(
        cls,
        request: ChatRequest,
        key: str,
        reply: ChatReply | None,
        outcome: CacheOutcome,
        form: SchemaForm,
        *,
        error: str | None = None,
        started_at: float = 0.0,
        latency_s: float = 0.0,
        retries: int = 0,
        requests: int = 0,
        api_base: str | None = None,
    ) -> CallTrace:
        """The record of one call: answered (`reply`) or failed (`error`, and the latency,
        retries and requests counted up to the failure). `api_base` is as it may be shown."""
        return cls(
            node=request.node,
            purpose=request.purpose,
            sample=request.sample,
            model=request.model,
            api_base=api_base,
            key=key,
            messages=request.messages,
            text=None if reply is None else reply.text,
            prompt_tokens=0 if reply is None else reply.prompt_tokens,
            completion_tokens=0 if reply is None else reply.completion_tokens,
            cost_usd=None if reply is None else reply.cost_usd,
            latency_s=latency_s if reply is None else reply.latency_s,
            cache=outcome,
            retries=retries if reply is None else reply.retries,
            schema_form=form,
            structured="none" if reply is None else reply.structured,
            error=error,
            started_at=started_at,
            requests=requests if reply is None else (0 if reply.cached else reply.retries + 1),
        )

    @property
    def cached(self) -> bool:
        return self.cache in ("hit", "dedup")

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["messages"] = [{"role": m.role, "content": m.content} for m in self.messages]
        return data


class TraceSink(Protocol):
    def __call__(self, record: CallTrace) -> None: ...


class MemoryTrace:
    """Keeps every record in a list, in completion order."""

    def __init__(self) -> None:
        self.records: list[CallTrace] = []

    def __call__(self, record: CallTrace) -> None:
        self.records.append(record)


class JsonlTraceWriter:
    """Appends one JSON line per record to `path` (flushed per line).

    A write that fails (a full disk) never fails the call it traces: the
    writer stops, and `failure` says why and from which call on, for the
    command to print.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._written = 0
        self.failure: str | None = None

    def __call__(self, record: CallTrace) -> None:
        line = json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True)
        with self._lock:
            if self.failure is not None:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError as exc:
                self._failed(exc)
            else:
                self._written += 1

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError as exc:
                if self.failure is None:
                    self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.failure = (f"cannot write the trace {self.path}: {exc.strerror or exc}; "
                        f"it holds the first {self._written} calls at most")

    def __enter__(self) -> JsonlTraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
