"""A server object of the event loop, driven from synchronous code: its own
background loop (``harness.background``), started, called into and stopped.

``ScriptedModelServer`` and ``LangfuseStandIn`` are this around their
asyncio objects; ``_close`` is what stopping awaits before the loop ends.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self, TypeVar, TypeVarTuple

from harness.background import Background

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class BackgroundServer(abc.ABC):
    def __init__(self, thread_name: str, *, call_timeout_s: float) -> None:
        self.call_timeout_s = call_timeout_s
        self._loop = Background(thread_name)

    @abc.abstractmethod
    async def _close(self) -> None:
        """Stop listening and close every connection (on the loop)."""

    def start(self) -> Self:
        self._loop.start()
        return self

    def _call(self, func: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """``func(*args)`` on the loop, within ``call_timeout_s``."""
        if not self._loop.running:
            raise RuntimeError(f"{self._loop.name}: the server is not started")
        return self._loop.run(func, *args, timeout=self.call_timeout_s)

    def stop(self) -> None:
        """Close every socket and join the thread; safe to call twice."""
        if not self._loop.running:
            return
        try:
            self._loop.run(self._close, timeout=self.call_timeout_s)
        finally:
            self._loop.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
