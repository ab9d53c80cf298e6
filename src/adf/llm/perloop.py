"""State that belongs to one event loop, for objects shared by several.

Takes a factory; gives `PerLoop`: the value made for the running loop on its
first use there, the same value on every later use on that loop. One client
may serve several loops at once (threads that each run their own, a user's
thread pool calling a workflow) or one after another (`asyncio.run` per
call); asyncio objects bound to a loop (a semaphore, an HTTP session) must
not travel between them. The values of loops that have been closed are
dropped when another loop makes its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """One value of `make()` per event loop."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._values: dict[asyncio.AbstractEventLoop, T] = {}
        self._lock = threading.Lock()  # loops in other threads may register meanwhile

    def lookup(self) -> tuple[T, bool]:
        """The running loop's value, and whether it was made just now."""
        loop = asyncio.get_running_loop()
        value = self._values.get(loop)
        if value is not None:
            return value, False
        with self._lock:
            for closed in [other for other in self._values if other.is_closed()]:
                del self._values[closed]
            value = self._values[loop] = self._make()
        return value, True

    def get(self) -> T:
        """The running loop's value."""
        return self.lookup()[0]

    def pop(self) -> T | None:
        """Forget the running loop's value (the next use makes a new one) and give it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            return self._values.pop(loop, None)
