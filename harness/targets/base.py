"""The interface every target implements: probe programs, the in-process
reference and (for live surfaces) HTTP services alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from harness.model import JsonValue, Observation


class Target(Protocol):
    name: str

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        """One observation per case, in order; infrastructure failures are
        observations with ``infra`` set, never exceptions."""
        ...

    def close(self) -> None:
        """Stop everything this target started. Idempotent."""
        ...
