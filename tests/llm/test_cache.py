"""The reply cache: keys, hits without server requests, bypass, in-flight de-duplication."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest
from llm_helpers import ask

import adf.llm.cache as cache_module
from adf.llm.cache import CachedReply, CacheError, ReplyCache, TokenMeans, cache_key
from adf.llm.client import LiteLLMClient, RetryPolicy
from adf.llm.protocol import ChatRequest, Message, ModelError
from adf.testing.fake_server import FakeServer, Fault, FaultPlan, last_user


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_key_covers_what_decides_the_answer() -> None:
    base = ChatRequest(
        model="m",
        messages=(Message("user", "q"),),
        api_base="http://x/v1",
        temperature=0.0,
        max_tokens=5,
    )
    same = [
        attrs.evolve(base, node="other", purpose="backward", sample="s9"),
        attrs.evolve(base, api_key_env="SOME_KEY"),
        attrs.evolve(base, extra=(("timeout", 3),)),
    ]
    different = [
        attrs.evolve(base, model="m2"),
        attrs.evolve(base, messages=(Message("user", "q2"),)),
        attrs.evolve(base, messages=(Message("system", "q"),)),
        attrs.evolve(base, api_base="http://y/v1"),
        attrs.evolve(base, temperature=0.5),
        attrs.evolve(base, max_tokens=6),
        attrs.evolve(base, json_schema="{}"),
        attrs.evolve(base, extra=(("top_p", 0.5),)),
    ]
    key = cache_key(base)
    assert all(cache_key(r) == key for r in same)
    keys = {cache_key(r) for r in different}
    assert key not in keys and len(keys) == len(different)
    assert cache_key(attrs.evolve(base, extra=(("a", 1), ("b", 2)))) == cache_key(
        attrs.evolve(base, extra=(("b", 2), ("a", 1)))
    )


def test_hit_makes_no_server_request(recorder: Any, tmp_path: Path) -> None:
    rec = recorder()
    with FakeServer(lambda req: "echo " + last_user(req)) as srv:
        first = run(rec.client.complete(ask(srv.base_url, "a")))
        second = run(rec.client.complete(ask(srv.base_url, "a", node="elsewhere")))
        assert srv.request_count == 1
        # a second client on the same file (as another process would be) hits too
        other = LiteLLMClient(cache=ReplyCache(tmp_path / "cache.sqlite"))
        third = run(other.complete(ask(srv.base_url, "a")))
        assert srv.request_count == 1
    assert first.cached is False
    assert second.cached is True and third.cached is True
    assert first.text == second.text == third.text == "echo a"
    assert rec.accounting.total.cache_hits == 1
    assert rec.accounting.total.requests == 1
    assert [r.cache for r in rec.trace.records] == ["miss", "hit"]


def test_disabled_cache_always_calls(recorder: Any) -> None:
    rec = recorder(cache=False)
    with FakeServer("x") as srv:
        for _ in range(3):
            assert run(rec.client.complete(ask(srv.base_url))).cached is False
        assert srv.request_count == 3
    assert [r.cache for r in rec.trace.records] == ["off"] * 3


def test_failures_are_not_cached(recorder: Any) -> None:
    rec = recorder(retry=RetryPolicy(max_retries=0))
    with FakeServer("fine", faults=FaultPlan(at={0: Fault("500")})) as srv:
        with pytest.raises(ModelError):
            run(rec.client.complete(ask(srv.base_url)))
        assert run(rec.client.complete(ask(srv.base_url))).text == "fine"
        assert srv.request_count == 2


def test_identical_requests_in_flight_share_one_call(recorder: Any) -> None:
    rec = recorder()
    with FakeServer(lambda req: "echo " + last_user(req), latency_s=0.2) as srv:

        async def many() -> list[Any]:
            return await asyncio.gather(
                *(rec.client.complete(ask(srv.base_url, "same")) for _ in range(6))
            )

        replies = run(many())
        assert srv.request_count == 1
    assert {r.text for r in replies} == {"echo same"}
    assert sum(not r.cached for r in replies) == 1
    assert rec.accounting.total.cache_hits == 5
    assert sorted(r.cache for r in rec.trace.records) == ["dedup"] * 5 + ["miss"]


def test_followers_share_the_leaders_failure(recorder: Any) -> None:
    rec = recorder(retry=RetryPolicy(max_retries=0))
    with FakeServer("x", latency_s=0.1, faults=FaultPlan(rate=1.0, kinds=("500",))) as srv:

        async def many() -> list[Any]:
            return await asyncio.gather(
                *(rec.client.complete(ask(srv.base_url)) for _ in range(4)), return_exceptions=True
            )

        results = run(many())
        assert srv.request_count == 1
    assert all(isinstance(r, ModelError) for r in results)
    assert rec.accounting.total.failures == 4


WRITER = """
import sys
from adf.llm.cache import CachedReply, ReplyCache
cache = ReplyCache(sys.argv[1])
for i in range(40):
    cache.put(f"{sys.argv[2]}-{i}", "m", CachedReply(f"text {i}", 1, 2, None, "none"))
"""


def test_processes_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    names = ("a", "b", "c", "d")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name]) for name in names]
    try:
        assert [p.wait(timeout=120) for p in procs] == [0] * len(names)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    cache = ReplyCache(path)
    assert len(cache) == 40 * len(names)
    assert cache.get("b-39") == CachedReply("text 39", 1, 2, None, "none")
    cache.close()


KILLED_WRITER = """
import sys, time
from adf.llm.cache import CachedReply, ReplyCache
cache = ReplyCache(sys.argv[1])
cache.put("paid", "m", CachedReply("the reply", 3, 4, 0.5, "none"))
print("stored", flush=True)
time.sleep(600)
"""


def test_a_stored_reply_survives_the_process_being_killed(tmp_path: Path) -> None:
    # `put` returns once the reply is committed: SIGKILL right after it loses nothing.
    path = tmp_path / "killed.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "stored"
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -9
    cache = ReplyCache(path)
    assert cache.get("paid") == CachedReply("the reply", 3, 4, 0.5, "none")
    cache.close()


def test_a_locked_fresh_file_is_waited_out(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite answers "database is locked" at once (no busy handler) when two processes switch a
    # new file to WAL or create its tables together; opening must wait that out, not fail.
    real = cache_module._prepare
    refusals: list[int] = []

    def contended(db: sqlite3.Connection) -> None:
        if len(refusals) < 3:
            refusals.append(1)
            raise sqlite3.OperationalError("database is locked")
        real(db)

    monkeypatch.setattr(cache_module, "_prepare", contended)
    cache = ReplyCache(tmp_path / "fresh.sqlite")
    cache.put("k", "m", CachedReply("t", 1, 2, None, "none"))
    assert len(refusals) == 3
    assert cache.get("k") == CachedReply("t", 1, 2, None, "none")
    cache.close()


def test_a_write_waits_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "held.sqlite"
    cache = ReplyCache(path)
    assert len(cache) == 0
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("DELETE FROM replies_v2")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    cache.put("k", "m", CachedReply("t", 1, 2, None, "none"))  # blocks until the commit
    release.join()
    other.close()
    assert cache.get("k") == CachedReply("t", 1, 2, None, "none")
    cache.close()


def test_an_error_that_is_not_a_lock_is_not_retried(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def broken(db: sqlite3.Connection) -> None:
        calls.append(1)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(cache_module, "_prepare", broken)
    with pytest.raises(CacheError, match="disk I/O error"):
        ReplyCache(tmp_path / "io.sqlite").put("k", "m", CachedReply("t", 1, 2, None, "none"))
    assert calls == [1]


def test_unusable_cache_file_is_one_clear_error(tmp_path: Path) -> None:
    from adf.llm.cache import CacheError

    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    cache = ReplyCache(bad)
    with pytest.raises(CacheError, match=r"not-a-db\.sqlite"):
        cache.get("k")
    assert ReplyCache(None).get("k") is None  # no path: caching off


def test_failed_cache_write_keeps_the_reply(tmp_path: Path) -> None:
    class ReadOnly(ReplyCache):
        def put(self, key: str, model: str, reply: CachedReply) -> None:
            from adf.llm.cache import CacheError

            raise CacheError("reply cache x: disk full")

    client = LiteLLMClient(cache=ReadOnly(tmp_path / "c.sqlite"))
    with FakeServer("kept") as srv:
        for _ in range(2):
            assert run(client.complete(ask(srv.base_url))).text == "kept"
    assert client.cache_errors == ["reply cache x: disk full"]


def test_an_altered_entry_is_dropped_refetched_and_named(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite"
    client = LiteLLMClient(cache=ReplyCache(path))
    with FakeServer("Answer: 7") as srv:
        assert run(client.complete(ask(srv.base_url))).text == "Answer: 7"
        assert client.cache is not None
        client.cache.close()
        with sqlite3.connect(path) as db:  # same length, different answer
            db.execute("UPDATE replies_v2 SET text = 'Answer: 1'")
        again = LiteLLMClient(cache=ReplyCache(path))
        reply = run(again.complete(ask(srv.base_url)))
        assert reply.text == "Answer: 7" and not reply.cached
        assert srv.request_count == 2
        assert again.cache is not None
        assert any("failed its checksum" in n for n in again.cache.notices)
        third = LiteLLMClient(cache=ReplyCache(path))  # the refetched entry is good again
        assert run(third.complete(ask(srv.base_url))).cached
        assert srv.request_count == 2


def test_a_damaged_cache_file_is_named_and_bypassed(tmp_path: Path) -> None:
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    client = LiteLLMClient(cache=ReplyCache(bad))
    with FakeServer("fine") as srv:
        assert run(client.complete(ask(srv.base_url))).text == "fine"
        assert run(client.complete(ask(srv.base_url))).text == "fine"
    assert client.cache is not None
    assert client.cache.notices == [
        f"cannot open the reply cache {bad}: the file is damaged or not a cache (file is not a "
        "database); delete it to start a fresh one; running without the reply cache from here on"]


def test_history_sums_tokens_per_model_node_and_purpose(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "c.sqlite")
    cache.add_history({("m", "reply", "forward"): (2, 200, 10),
                       ("m", "reply", "backward"): (0, 0, 0),  # nothing answered: not kept
                       ("other", "reply", "forward"): (1, 9, 9)})
    cache.add_history({("m", "reply", "forward"): (2, 100, 30)})  # a second run adds to it
    seen = cache.history(["m"])
    assert seen == {("m", "reply", "forward"): TokenMeans(4, 75.0, 10.0)}
    cache.add_rates("m", {"val_share": (10, 12), "screen_pass": (0, 0)})
    cache.add_rates("m", {"val_share": (2, 12)})
    assert cache.rates("m") == {"val_share": (12, 24)} and cache.rates("other") == {}
    cache.clear()
    assert cache.history(["m"]) == {} and cache.rates("m") == {}
    cache.close()
    off = ReplyCache(tmp_path / "c.sqlite", enabled=False)
    off.add_history({("m", "reply", "forward"): (1, 1, 1)})
    assert off.history(["m"]) == {} and off.rates("m") == {}
