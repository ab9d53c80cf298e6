"""A content-addressed on-disk cache of model replies.

Takes `ChatRequest`s and the replies they produced; gives `cache_key` (a
sha256 over the canonical JSON of the fields that decide the answer: model,
messages, api_base, temperature, max_tokens, json_schema and extra, never
the API key or its variable) and `ReplyCache`, an SQLite file in WAL mode
that several processes can read and write at once. `ReplyCache(None)` or
`enabled=False` turns caching off. Stored rows hold the reply text, its
token counts, its cost and whether a schema was sent; nothing secret is
ever part of a request, so nothing secret is ever stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

import attrs

from adf.llm.protocol import ChatRequest

DEFAULT_PATH = Path(".adf") / "cache.sqlite"
KEY_VERSION = 1

# `extra` entries that change how a call is made but not what it answers
_BOOKKEEPING_EXTRA = frozenset({"timeout"})


def cache_key(request: ChatRequest) -> str:
    """The hex sha256 identifying what a request would answer.

    A request whose `extra` names a `local_model` (adf's local server adds the
    GGUF file's identity) is keyed by that identity instead of `api_base`,
    whose port changes from run to run.
    """
    local = request.is_local
    payload = {
        "v": KEY_VERSION,
        "model": request.model,
        "messages": [[m.role, m.content] for m in request.messages],
        "api_base": None if local else request.api_base,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "json_schema": request.json_schema,
        "extra": sorted(
            ([k, v] for k, v in request.extra if k not in _BOOKKEEPING_EXTRA), key=lambda kv: kv[0]
        ),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class CachedReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    structured: Literal["schema", "none"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL,
    structured TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class CacheError(OSError):
    """The cache file cannot be opened, read or written; the message is one line."""


class ReplyCache:
    """Replies by `cache_key`, in one SQLite file (WAL mode, safe across processes)."""

    def __init__(self, path: Path | str | None = DEFAULT_PATH, *, enabled: bool = True) -> None:
        self.path = None if path is None else Path(path)
        self.enabled = enabled and self.path is not None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            assert self.path is not None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=30.0, check_same_thread=False, isolation_level=None
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA busy_timeout=30000")
                db.execute(_SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise CacheError(f"cannot open the reply cache {self.path}: {exc}") from None
            self._db = db
        return self._db

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            db = self._connection()
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise CacheError(f"reply cache {self.path}: {exc}") from None

    def get(self, key: str) -> CachedReply | None:
        if not self.enabled:
            return None
        rows = self._run(
            "SELECT text, prompt_tokens, completion_tokens, cost_usd, structured "
            "FROM replies WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        row = rows[0]
        structured: Literal["schema", "none"] = "schema" if row[4] == "schema" else "none"
        cost = row[3]
        return CachedReply(
            str(row[0]),
            int(str(row[1])),
            int(str(row[2])),
            float(cost) if isinstance(cost, int | float) else None,
            structured,
        )

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        if not self.enabled:
            return
        self._run(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                model,
                reply.text,
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.cost_usd,
                reply.structured,
                time.time(),
            ),
        )

    def __len__(self) -> int:
        if not self.enabled:
            return 0
        return int(str(self._run("SELECT COUNT(*) FROM replies")[0][0]))

    def clear(self) -> None:
        if self.enabled:
            self._run("DELETE FROM replies")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
