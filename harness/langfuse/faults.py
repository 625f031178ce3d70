"""Collector faults the harness switches on per listener: the stand-in down,
slow, answering 500 or 401, for every request or for some sessions' only.

A request is one HTTP exchange, and a runtime's batch may carry events of
several sessions: a session fault takes the whole request when any of its
events belongs to a faulted session (by trace id, or the id the langfuse SDK
seeds from it). Down for every request closes the listening socket
(connections refused); down for some sessions closes the connection without
an answer. A faulted request stores nothing, except a slow one, answered late
as usual.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from harness.langfuse.observation import trace_id_candidates


class CollectorFault(StrEnum):
    DOWN = "down"
    SLOW = "slow"
    HTTP_500 = "500"
    HTTP_401 = "401"


@dataclass(frozen=True)
class FaultRule:
    mode: CollectorFault
    sessions: frozenset[str] | None = None  # None: every request
    delay_s: float = 0.0  # SLOW: how late the answer comes
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode is CollectorFault.SLOW and not self.delay_s > 0:
            raise ValueError(f"a slow collector needs delay_s > 0, got {self.delay_s}")
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")
        ids = frozenset(
            candidate
            for session in self.sessions or ()
            for candidate in trace_id_candidates(session)
        )
        object.__setattr__(self, "_ids", ids)

    @property
    def everywhere(self) -> bool:
        return self.sessions is None

    def applies(self, trace_ids: Collection[str]) -> bool:
        return self.sessions is None or not self._ids.isdisjoint(trace_ids)


def rule(
    mode: CollectorFault | str, *, sessions: Iterable[str] | None = None, delay_s: float = 0.0
) -> FaultRule:
    return FaultRule(
        CollectorFault(mode),
        None if sessions is None else frozenset(sessions),
        delay_s,
    )


def first_applying(rules: Iterable[FaultRule], trace_ids: Collection[str]) -> FaultRule | None:
    return next((r for r in rules if r.applies(trace_ids)), None)
