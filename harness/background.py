"""An event loop beside synchronous code: the one helper for background loops.

The engine is synchronous; the HTTP clients (``targets/http.py``) and the
scripted model's server (``mock_llm/``) are asyncio. ``Background`` runs one
asyncio loop on a named daemon thread through anyio's blocking portal
(``anyio.from_thread.start_blocking_portal``):

- ``run(func, *args)`` awaits ``func(*args)`` on the loop and returns its result;
- ``submit(func, *args)`` schedules it and returns a
  ``concurrent.futures.Future`` at once; cancelling that future cancels the
  coroutine (a portal task runs in its own cancel scope);
- ``stop()`` cancels whatever is still pending, ends the loop and joins its
  thread, so no thread is left behind.

``SharedBackground`` is one ``Background`` for several users of a process,
reference counted: the first ``acquire`` starts it, the last
``Lease.release`` stops it, so the HTTP targets of a run add one thread, not
one each. A lease's futures are its own: releasing (or ``cancel``-ling) one
lease ends its requests and nobody else's.

anyio's ``BlockingPortalProvider`` is reference counted too, but it cannot name
its thread and lets pending tasks run on when its last user leaves; a hung
request must end with its target, hence the few lines of ``SharedBackground``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self, TypeVar, TypeVarTuple

from anyio.from_thread import BlockingPortal, start_blocking_portal

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The code run here (httpx, asyncio.start_server) is asyncio code.
BACKEND = "asyncio"


class _Pending:
    """Futures not done yet, so that they can be cancelled together."""

    def __init__(self) -> None:
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def add(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._discard)

    def _discard(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def cancel_all(self) -> None:
        with self._lock:
            futures = list(self._futures)
        # Outside the lock: cancel() runs the done callbacks (``_discard``) here.
        for future in futures:
            future.cancel()


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def _awaited(func: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    return await func(*args)


class _Runs(abc.ABC):
    """``run``, for whatever can ``submit``."""

    @abc.abstractmethod
    def submit(self, func: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> Future[T]: ...

    def run(
        self,
        func: Callable[[*Ts], Awaitable[T]],
        *args: *Ts,
        timeout: float | None = None,
    ) -> T:
        """``func(*args)`` awaited on the loop; its result or its exception. Past
        ``timeout`` seconds it is cancelled and ``TimeoutError`` raised."""
        future = self.submit(func, *args)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # nobody waits for it any more: do not let it run on
            raise


class Background(_Runs):
    """One event loop on its own named daemon thread. ``start`` and ``stop`` are
    idempotent; a stopped loop can be started again (a new thread)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = _Pending()

    @property
    def running(self) -> bool:
        return self._portal is not None

    def start(self) -> Self:
        with self._lock:
            if self._portal is None:
                portal_cm = start_blocking_portal(BACKEND, name=self.name)
                self._portal = portal_cm.__enter__()
                self._portal_cm = portal_cm
                self._loop = self._portal.call(_running_loop)
        return self

    def submit(self, func: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> Future[T]:
        """Schedule ``func(*args)`` on the loop; its future, at once.

        Not ``portal.start_task_soon``: that waits until the loop has taken
        the task, so a caller submitting a batch while the loop is busy with
        the previous requests would wait once per request (measured: 5 s of
        640 sessions' 9 s). asyncio's own thread-safe hand-over does not wait;
        cancelling its future cancels the task.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"{self.name}: the event loop is not running")
        coroutine = _awaited(func, args)
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:  # the loop has just stopped
            coroutine.close()
            raise
        self._pending.add(future)
        return future

    def stop(self) -> None:
        """Cancel what is pending, end the loop and join its thread."""
        with self._lock:
            portal_cm, portal = self._portal_cm, self._portal
            self._portal_cm = self._portal = None
            self._loop = None
        if portal_cm is None or portal is None:
            return
        self._pending.cancel_all()
        try:
            # cancel_remaining: a task nobody holds a future for ends too.
            with contextlib.suppress(RuntimeError):  # the loop already ended
                portal.call(portal.stop, True)
        finally:
            # Joins the thread, without a bound: every task is cancelled by now,
            # and a bounded join could leave the thread behind.
            portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SharedBackground:
    """One ``Background`` for every user of a process that leases it."""

    def __init__(self, name: str) -> None:
        self.background = Background(name)
        self._users = 0
        self._lock = threading.Lock()

    @property
    def users(self) -> int:
        return self._users

    def acquire(self) -> Lease:
        with self._lock:
            if self._users == 0:
                self.background.start()
            self._users += 1
        return Lease(self)

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                # Under the lock: an acquire meanwhile waits for this thread to
                # end, then starts a new one.
                self.background.stop()


class Lease(_Runs):
    """One user's share of a ``SharedBackground``: its own futures, cancelled
    when it is released. ``release`` is idempotent."""

    def __init__(self, shared: SharedBackground) -> None:
        self._shared = shared
        self._pending = _Pending()
        self._lock = threading.Lock()
        self._released = False

    def submit(self, func: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> Future[T]:
        if self._released:
            raise RuntimeError(f"{self._shared.background.name}: the lease is released")
        future = self._shared.background.submit(func, *args)
        self._pending.add(future)
        return future

    def cancel(self) -> None:
        """Cancel this lease's futures that are not done (others' run on)."""
        self._pending.cancel_all()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self.cancel()
        self._shared._release()
