"""The one list of suites: name, kind, what each depends on, and the order
they run in. Config validation, the CLI, the runner and the pytest plugin
read it; nothing else names the suites.

Imports nothing of the harness, so that any module may read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["probe", "live", "derived"]


@dataclass(frozen=True)
class SuiteInfo:
    name: str
    kind: Kind
    # A derived suite checks what these produced; it needs at least one of them.
    depends_on: tuple[str, ...] = ()
    # Suites of one family take each other's cases (same shape, same service):
    # a trigger found by one is replayed through all of them.
    family: str | None = None


# The suites' names: the only place they are spelled (tests/test_imports.py
# looks for them anywhere else in harness/).
EXTRACT_JSON: Final = "extract_json"
SESSION_LOG: Final = "session_log"
VALIDATE: Final = "validate"
ITERATE: Final = "iterate"
FAULTS: Final = "faults"
SESSIONS: Final = "sessions"
TRACES: Final = "traces"
COLLECTOR: Final = "collector_faults"

REGISTRY: Final = (
    SuiteInfo(EXTRACT_JSON, "probe"),
    SuiteInfo(SESSION_LOG, "probe"),
    SuiteInfo(VALIDATE, "live"),
    SuiteInfo(ITERATE, "live", family="session"),
    SuiteInfo(FAULTS, "live", family="session"),
    # Sessions whose trace tree meets a faulty Langfuse collector: a suite of
    # their own, in small batches, so that the backlog a fault leaves in a
    # runtime's queue never reaches another suite's sessions.
    SuiteInfo(COLLECTOR, "live", family="session"),
    SuiteInfo(SESSIONS, "derived", depends_on=(ITERATE, FAULTS, COLLECTOR)),
    SuiteInfo(TRACES, "derived", depends_on=(ITERATE, FAULTS, COLLECTOR)),
)
BY_NAME: Final = {info.name: info for info in REGISTRY}
ALL: Final = tuple(info.name for info in REGISTRY)
PROBE: Final = tuple(info.name for info in REGISTRY if info.kind == "probe")
# Live and derived suites both need the runtimes' services (``url`` in parity.toml).
SERVICE: Final = tuple(info.name for info in REGISTRY if info.kind != "probe")


def family(name: str) -> tuple[str, ...]:
    """The suites whose cases ``name``'s cases are (itself included)."""
    mine = BY_NAME[name].family
    if mine is None:
        return (name,)
    return tuple(info.name for info in REGISTRY if info.family == mine)


def derived_from(name: str) -> tuple[str, ...]:
    """The derived suites that check what ``name`` produces."""
    return tuple(info.name for info in REGISTRY if name in info.depends_on)


def ordered(names: Iterable[str]) -> list[str]:
    """``names`` in run order: every suite after those it depends on, ties in
    registry order. Unknown names raise ``KeyError``."""
    wanted = set(names)
    pending = sorted((BY_NAME[name] for name in wanted), key=REGISTRY.index)
    done: list[str] = []
    while pending:
        ready = next(
            info for info in pending if all(d in done or d not in wanted for d in info.depends_on)
        )
        pending.remove(ready)
        done.append(ready.name)
    return done


def with_dependencies(names: Iterable[str], available: Iterable[str]) -> set[str]:
    """``names`` plus, for a derived suite none of whose sources was asked
    for, every available source (the rows to check are theirs)."""
    wanted, runnable = set(names), set(available)
    for name in list(wanted):
        sources = BY_NAME[name].depends_on
        if sources and not wanted & set(sources):
            wanted.update(s for s in sources if s in runnable)
    return wanted
