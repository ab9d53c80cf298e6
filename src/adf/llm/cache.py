"""A content-addressed on-disk cache of model replies.

Takes `ChatRequest`s and the replies they produced; gives `cache_key` (a
sha256 over the canonical JSON of the fields that decide the answer: model,
messages, api_base, temperature, max_tokens, json_schema and extra, never
the API key or its variable) and `ReplyCache`, an SQLite file in WAL mode
that several processes can read and write at once. `ReplyCache(None)` or
`enabled=False` turns caching off. Stored rows hold the reply text, its
token counts, its cost and whether a schema was sent; nothing secret is
ever part of a request, so nothing secret is ever stored.

The same file keeps each model's history, summed over every run that used
the cache: per (model, node, purpose) the answered calls and their prompt
and completion tokens (`add_history`, `history`), and per task model the
training rates a run measured, as counts (`add_rates`, `rates`: failing
samples of the batches, proposals passing the cheap checks, proposals
reaching validation, validation samples scored). The cost estimator reads
both (`adf.analysis.cost`).

Each row also holds a checksum of its key and reply: an entry that fails it
(edited by hand, damaged on disk) is dropped, a notice says so, and the
caller asks the model again. A cache file that is not a database, or that
cannot be written (a full disk, a read-only folder), is named in `notices`
and the run goes on without it; `open_workflow` prints the notices.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal, TypeVar

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
    if request.tools is not None:  # absent otherwise, so earlier keys stay valid
        payload["tools"] = request.tools
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
CREATE TABLE IF NOT EXISTS replies_v2 (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL,
    structured TEXT NOT NULL,
    created REAL NOT NULL,
    checksum TEXT NOT NULL
)
"""


_HISTORY = """
CREATE TABLE IF NOT EXISTS history_v1 (
    model TEXT NOT NULL,
    node TEXT NOT NULL,
    purpose TEXT NOT NULL,
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (model, node, purpose)
)
"""


_RATES = """
CREATE TABLE IF NOT EXISTS rates_v1 (
    model TEXT NOT NULL,
    rate TEXT NOT NULL,
    part INTEGER NOT NULL,
    whole INTEGER NOT NULL,
    PRIMARY KEY (model, rate)
)
"""


@attrs.frozen
class TokenMeans:
    """What one kind of call (a model, a node, a purpose) took on average, over `calls` calls."""

    calls: int
    prompt: float
    completion: float


HistoryKey = tuple[str, str, str]  # (model, node, purpose)


def reply_checksum(key: str, text: str, prompt_tokens: int, completion_tokens: int,
                   structured: str) -> str:
    body = f"{key}\0{text}\0{prompt_tokens}\0{completion_tokens}\0{structured}"
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


class CacheError(OSError):
    """The cache file cannot be opened, read or written; the message is one line."""


class ReplyCache:
    """Replies by `cache_key`, in one SQLite file (WAL mode, safe across processes)."""

    def __init__(self, path: Path | str | None = DEFAULT_PATH, *, enabled: bool = True) -> None:
        self.path = None if path is None else Path(path)
        self.enabled = enabled and self.path is not None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.notices: list[str] = []  # problems met (each once): printed by the caller

    def notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)

    def give_up(self, error: CacheError) -> None:
        """Go on without the cache after `error`, saying so once."""
        self.enabled = False
        self.notice(f"{error}; running without the reply cache from here on")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            assert self.path is not None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=30.0, check_same_thread=False, isolation_level=None
                )
            except (OSError, sqlite3.Error) as exc:
                raise CacheError(f"cannot open the reply cache {self.path}: {_why(exc)}") from None
            try:
                _patiently(lambda: _prepare(db))
            except (OSError, sqlite3.Error) as exc:
                db.close()
                raise CacheError(f"cannot open the reply cache {self.path}: {_why(exc)}") from None
            self._db = db
        return self._db

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            db = self._connection()
            try:
                return _patiently(lambda: db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise CacheError(f"reply cache {self.path}: {_why(exc)}") from None

    def get(self, key: str) -> CachedReply | None:
        if not self.enabled:
            return None
        rows = self._run(
            "SELECT text, prompt_tokens, completion_tokens, cost_usd, structured, checksum "
            "FROM replies_v2 WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        row = rows[0]
        text, prompt, completion, cost, form, stored = row
        good = (isinstance(text, str) and isinstance(prompt, int) and isinstance(completion, int)
                and isinstance(form, str)
                and stored == reply_checksum(key, text, prompt, completion, form))
        if not good:
            self._run("DELETE FROM replies_v2 WHERE key = ?", (key,))
            self.notice(f"reply cache {self.path}: an entry failed its checksum (altered or "
                        "damaged); it was dropped and the model asked again")
            return None
        assert isinstance(text, str) and isinstance(prompt, int) and isinstance(completion, int)
        structured: Literal["schema", "none"] = "schema" if form == "schema" else "none"
        return CachedReply(
            text, prompt, completion,
            float(cost) if isinstance(cost, int | float) else None,
            structured,
        )

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        if not self.enabled:
            return
        self._run(
            "INSERT OR REPLACE INTO replies_v2 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                model,
                reply.text,
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.cost_usd,
                reply.structured,
                time.time(),
                reply_checksum(key, reply.text, reply.prompt_tokens, reply.completion_tokens,
                               reply.structured),
            ),
        )

    def add_history(self, answered: Mapping[HistoryKey, tuple[int, int, int]]) -> None:
        """Add (calls, prompt tokens, completion tokens) per (model, node, purpose)."""
        if not self.enabled:
            return
        for (model, node, purpose), (calls, prompt, completion) in sorted(answered.items()):
            if calls > 0:
                self._run(
                    "INSERT INTO history_v1 VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (model, node, purpose) DO UPDATE SET "
                    "calls = calls + excluded.calls, "
                    "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                    "completion_tokens = completion_tokens + excluded.completion_tokens",
                    (model, node, purpose, calls, prompt, completion),
                )

    def history(self, models: Iterable[str]) -> dict[HistoryKey, TokenMeans]:
        """The mean tokens of every kind of call these models answered before."""
        wanted = sorted(set(models))
        if not self.enabled or not wanted:
            return {}
        marks = ", ".join("?" for _ in wanted)
        rows = self._run(
            "SELECT model, node, purpose, calls, prompt_tokens, completion_tokens "
            f"FROM history_v1 WHERE model IN ({marks})", tuple(wanted))
        out: dict[HistoryKey, TokenMeans] = {}
        for model, node, purpose, calls, prompt, completion in rows:
            if isinstance(calls, int) and calls > 0 and isinstance(prompt, int) \
                    and isinstance(completion, int):
                out[(str(model), str(node), str(purpose))] = TokenMeans(
                    calls, prompt / calls, completion / calls)
        return out

    def add_rates(self, model: str, counts: Mapping[str, tuple[int, int]]) -> None:
        """Add (part, whole) counts of named rates measured on `model`."""
        if not self.enabled:
            return
        for rate, (part, whole) in sorted(counts.items()):
            if whole > 0:
                self._run(
                    "INSERT INTO rates_v1 VALUES (?, ?, ?, ?) ON CONFLICT (model, rate) DO "
                    "UPDATE SET part = part + excluded.part, whole = whole + excluded.whole",
                    (model, rate, part, whole),
                )

    def rates(self, model: str) -> dict[str, tuple[int, int]]:
        """The (part, whole) counts of every rate measured on `model` before."""
        if not self.enabled:
            return {}
        rows = self._run("SELECT rate, part, whole FROM rates_v1 WHERE model = ?", (model,))
        return {str(rate): (part, whole) for rate, part, whole in rows
                if isinstance(part, int) and isinstance(whole, int) and whole > 0}

    def __len__(self) -> int:
        if not self.enabled:
            return 0
        return int(str(self._run("SELECT COUNT(*) FROM replies_v2")[0][0]))

    def clear(self) -> None:
        if self.enabled:
            self._run("DELETE FROM replies_v2")
            self._run("DELETE FROM history_v1")
            self._run("DELETE FROM rates_v1")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


_PATIENCE_S = 30.0
_T = TypeVar("_T")


def _patiently(step: Callable[[], _T]) -> _T:
    """Run `step`, waiting out other processes that hold the file's locks.

    Some lock upgrades (switching a new file to WAL, creating its tables, a write after another
    process's write) make SQLite answer "database is locked" at once instead of calling its busy
    handler, to avoid a deadlock. Every step here is one autocommit statement (or the idempotent
    set-up), so a busy failure changed nothing and running it again is safe.
    """
    deadline = time.monotonic() + _PATIENCE_S
    pause = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _prepare(db: sqlite3.Connection) -> None:
    """Turn on WAL and create the tables (each statement is idempotent)."""
    for statement in ("PRAGMA busy_timeout=30000", "PRAGMA journal_mode=WAL",
                      "PRAGMA synchronous=NORMAL", _SCHEMA, _HISTORY, _RATES):
        db.execute(statement)


def _why(exc: BaseException) -> str:
    """An SQLite or OS error in words: a damaged file and a full disk named as such."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"the file is damaged or not a cache ({text}); delete it to start a fresh one"
    if "disk is full" in text or getattr(exc, "errno", None) == 28:
        return "the disk is full"
    if "readonly" in text or "read-only" in text or getattr(exc, "errno", None) == 30:
        return "the file or its folder is read-only"
    return text
