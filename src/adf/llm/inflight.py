"""De-duplication of identical model calls in flight.

Takes cache keys; gives `InFlight`: the first call with a key leads (`lead`)
and sends the request; calls with the same key that arrive meanwhile
`follow` it and get its reply, or its error, without sending anything.
A follower whose leader was cancelled (not the follower itself) tries again,
and may lead in its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from adf.llm.protocol import ChatReply


class InFlight:
    """The calls in flight, by cache key (one event loop at a time)."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[ChatReply]] = {}

    async def follow(self, key: str) -> ChatReply | None:
        """The reply of the call in flight with `key` once it lands (its exception if it
        fails); None when there is none."""
        while (pending := self._pending.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    continue  # the leader was cancelled, not us: try again
                raise
        return None

    @contextlib.contextmanager
    def lead(self, key: str) -> Iterator[asyncio.Future[ChatReply]]:
        """Make the caller the leader for `key`: it sets the yielded future's result; an
        exception leaving the block is handed to the followers (cancellation cancels them)."""
        future: asyncio.Future[ChatReply] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            yield future
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # mark retrieved: followers may be none
            raise
        finally:
            self._pending.pop(key, None)
