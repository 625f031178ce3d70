"""Hypothesis plumbing: drawing cases with the choices that drew them,
running a pass under Hypothesis, and the example database that carries each
finding's smallest example from one run to the next."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    choices_from_bytes,
    choices_to_bytes,
)

from harness.engine.state import Choices, Tally
from harness.model import JsonValue
from harness.suites.base import Suite, case_key

# Batching is what makes a Hypothesis example cheap; a batch's size and its
# choice sequence stay well inside what Hypothesis accepts, so these checks
# say nothing here.
_SUPPRESSED: Final = (
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
)
# Hypothesis starts with its simplest example, where every draw is the same
# case: a batch stops after this many repeats in a row.
_GIVE_UP_AFTER: Final = 3

Test = Callable[[st.DataObject], None]


class Enough(BaseException):
    """Ends a pass once its budget has run (not an Exception: Hypothesis
    lets it through instead of treating it as a failure)."""


class StillFails(Exception):
    """Raised to Hypothesis while the finding being shrunk still shows."""


def run(
    name: str,
    test: Test,
    *,
    examples: int,
    phases: Sequence[Phase],
    seeds: Sequence[Choices] = (),
    seed_value: int | None = None,
) -> None:
    """Run ``test`` under Hypothesis; whatever it raises goes to the caller.
    ``seeds``: the examples the reuse phase replays (nothing else is read or
    written: the engine keeps what it learns itself)."""
    test.__name__ = f"parity_{name}"
    wrapped = given(st.data())(test)
    if seed_value is not None:
        # Before ``settings``: a seed alone would also turn the database off.
        wrapped = seed(seed_value)(wrapped)
    wrapped = settings(
        max_examples=examples,
        database=_Seeds(seeds),
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        phases=phases,
        verbosity=Verbosity.quiet,
        suppress_health_check=_SUPPRESSED,
    )(wrapped)
    wrapped()


class _Seeds(ExampleDatabase):
    """The examples a pass starts from, as Hypothesis's database: given to
    each pass and never written."""

    def __init__(self, seeds: Sequence[Choices]) -> None:
        super().__init__()
        self._values = [choices_to_bytes(s) for s in seeds]

    def fetch(self, key: bytes) -> Iterable[bytes]:
        # Only the primary corpus: not the ".secondary" or ".pareto" ones.
        return [] if key.endswith((b".secondary", b".pareto")) else list(self._values)

    def save(self, key: bytes, value: bytes) -> None:
        pass

    def delete(self, key: bytes, value: bytes) -> None:
        pass


def draw_one(strategy: st.SearchStrategy[JsonValue]) -> tuple[JsonValue, Choices]:
    """A case and the choices that drew it: replayed alone, those choices draw
    the same case, so any case can seed a shrinking pass."""
    conjecture = current_build_context().data
    start = len(conjecture.nodes)
    # Not ``data.draw``: it also saves and restores the global random state and
    # labels the draw for a report never printed here (30-80 µs a case).
    case = conjecture.draw(strategy)
    return case, tuple(node.value for node in conjecture.nodes[start:])


def draw_distinct(
    strategy: st.SearchStrategy[JsonValue], n: int
) -> list[tuple[JsonValue, Choices]]:
    """Up to ``n`` distinct cases, stopping after a few repeats in a row
    rather than drawing ``n`` copies of the simplest one (it depends on the
    choices alone, so Hypothesis sees a deterministic test)."""
    distinct: dict[str, tuple[JsonValue, Choices]] = {}
    repeats = 0
    while n > 0 and repeats < _GIVE_UP_AFTER:
        n -= 1
        case, choices = draw_one(strategy)
        key = case_key(case)
        repeats = repeats + 1 if key in distinct else 0
        distinct.setdefault(key, (case, choices))
    return list(distinct.values())


class ExampleStore:
    """The smallest example of each divergence, across runs: their choices in
    a Hypothesis directory database under ``lakehouse-parity/<suite>``."""

    def __init__(self, folder: Path | None) -> None:
        self._database = DirectoryBasedExampleDatabase(folder) if folder else None

    @staticmethod
    def _key(suite: Suite) -> bytes:
        return f"lakehouse-parity/{suite.name}".encode()

    def stored(self, suite: Suite) -> list[Choices]:
        if self._database is None:
            return []
        stored = (choices_from_bytes(v) for v in self._database.fetch(self._key(suite)))
        return [choices for choices in stored if choices is not None]

    def remember(self, suite: Suite, tally: Tally) -> None:
        """Replace what is stored for ``suite`` with the choices of this
        run's smallest example of each divergence."""
        if self._database is None:
            return
        key = self._key(suite)
        for old in list(self._database.fetch(key)):
            self._database.delete(key, old)
        for fingerprint, choices in tally.choices.items():
            cls = tally.findings[fingerprint].failure.cls
            if choices is not None and not cls.is_infrastructure:
                self._database.save(key, choices_to_bytes(choices))
