"""The interface every target implements: probe programs, the in-process
reference and (for live surfaces) HTTP services alike."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol, runtime_checkable

from harness.model import JsonValue, Observation


class Target(Protocol):
    name: str

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        """One observation per case, in order; infrastructure failures are
        observations with ``infra`` set, never exceptions."""
        ...

    def interrupt(self) -> None:
        """Stop what is in flight, from any thread: the batch being answered
        ends soon, its answers not yet given coming back as infrastructure
        observations. A batch started later runs as usual."""
        ...

    def close(self) -> None:
        """Stop everything this target started. Idempotent."""
        ...


@runtime_checkable
class StreamingTarget(Target, Protocol):
    """A target that answers case by case; checked with ``isinstance``."""

    def submit(self, suite: str, cases: Sequence[JsonValue]) -> list[Future[Observation]] | None:
        """Start the batch and return at once: one future per case, in order,
        each done when its observation is in (None: this suite does not stream)."""
        ...
