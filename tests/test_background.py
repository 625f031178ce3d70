"""The background event loop helper: results, futures, cancellation, sharing,
and no thread left behind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError

import pytest

from harness.background import Background, SharedBackground


def loop_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


@pytest.fixture
def no_thread_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) == before


async def double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


async def sleep_then(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


async def fail() -> None:
    raise ValueError("on the loop")


async def thread_name() -> str:
    return threading.current_thread().name


def test_run_returns_the_result_on_a_named_thread(no_thread_left: None) -> None:
    with Background("bg-test") as loop:
        assert loop.run(double, 21) == 42
        assert loop.run(thread_name) == "bg-test"
        assert len(loop_threads("bg-test")) == 1
        with pytest.raises(ValueError, match="on the loop"):
            loop.run(fail)
    assert loop_threads("bg-test") == []


def test_submit_returns_at_once_and_answers_early_ones_first(no_thread_left: None) -> None:
    with Background("bg-test") as loop:
        started = time.monotonic()
        slow = loop.submit(sleep_then, 0.5, "slow")
        fast = loop.submit(sleep_then, 0, "fast")
        assert time.monotonic() - started < 0.3
        assert fast.result(timeout=5) == "fast" and not slow.done()
        assert slow.result(timeout=5) == "slow"


def test_a_cancelled_future_cancels_its_coroutine(no_thread_left: None) -> None:
    ended = threading.Event()

    async def watched() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            ended.set()

    with Background("bg-test") as loop:
        future = loop.submit(watched)
        time.sleep(0.05)
        assert future.cancel()
        assert ended.wait(5)


def test_run_past_its_timeout_is_cancelled(no_thread_left: None) -> None:
    with Background("bg-test") as loop:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            loop.run(sleep_then, 30, "never", timeout=0.1)
        assert time.monotonic() - started < 2


def test_stop_cancels_what_is_pending_and_joins_the_thread(no_thread_left: None) -> None:
    loop = Background("bg-test").start()
    futures = [loop.submit(sleep_then, 30, str(i)) for i in range(5)]
    started = time.monotonic()
    loop.stop()
    loop.stop()  # idempotent
    assert time.monotonic() - started < 2
    for future in futures:
        with pytest.raises(CancelledError):
            future.result(timeout=1)
    assert loop_threads("bg-test") == []
    with pytest.raises(RuntimeError, match="not running"):
        loop.submit(double, 1)


def test_a_stopped_loop_starts_again(no_thread_left: None) -> None:
    loop = Background("bg-test")
    for value in (1, 2):
        with loop:
            assert loop.run(double, value) == value * 2


def test_a_shared_loop_is_one_thread_until_its_last_lease_is_released(
    no_thread_left: None,
) -> None:
    shared = SharedBackground("bg-shared")
    leases = [shared.acquire() for _ in range(3)]
    assert [lease.run(double, i) for i, lease in enumerate(leases)] == [0, 2, 4]
    assert len(loop_threads("bg-shared")) == 1 and shared.users == 3
    mine = leases[0].submit(sleep_then, 30, "mine")
    theirs = leases[1].submit(sleep_then, 0.3, "theirs")
    leases[0].release()
    leases[0].release()  # idempotent
    # Releasing one lease ends its futures, not the others'.
    with pytest.raises(CancelledError):
        mine.result(timeout=1)
    assert theirs.result(timeout=5) == "theirs"
    with pytest.raises(RuntimeError, match="released"):
        leases[0].submit(double, 1)
    leases[1].release()
    assert len(loop_threads("bg-shared")) == 1
    leases[2].release()
    assert loop_threads("bg-shared") == [] and shared.users == 0
    # A later acquire starts a new thread.
    lease = shared.acquire()
    assert lease.run(thread_name) == "bg-shared"
    lease.release()


def test_lease_cancel_ends_its_futures_and_keeps_the_lease(no_thread_left: None) -> None:
    shared = SharedBackground("bg-shared")
    lease = shared.acquire()
    try:
        pending = lease.submit(sleep_then, 30, "x")
        lease.cancel()
        assert pending.cancelled()
        assert lease.run(double, 3) == 6
    finally:
        lease.release()
