"""A/A replay, declared volatile paths and the seed's promise, over
in-process targets: only the engine and its Checker are under test."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from hypothesis import strategies as st

from harness import defaults
from harness.engine import Engine, EngineSettings
from harness.model import (
    REFERENCE,
    Difference,
    DivergenceClass,
    JsonValue,
    Observation,
    RunSummary,
)
from harness.suites.base import LiveSuite
from harness.volatile import Declared
from reference_impl.rules import Hit, ignore

REPO = Path(__file__).resolve().parents[1]
CASES = st.fixed_dictionaries({"n": st.integers(0, 1000), "word": st.text("ab", max_size=4)})


class Echo(LiveSuite):
    """The reference answers {"n": n, "id": 7}; a difference per field."""

    def __init__(self) -> None:
        self.name = "iterate"
        self.description = "an in-process echo"
        self.strategy = CASES
        self.batch_size = 16

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        return Observation(REFERENCE, json.dumps({"n": execution["n"], "id": 7}))

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        expected, actual = json.loads(reference.text or "{}"), json.loads(target.text or "{}")
        return tuple(
            Difference(DivergenceClass.VALUE, f"$.{key}", expected[key], actual.get(key))
            for key in expected
            if actual.get(key) != expected[key]
        )


class Answering:
    """A target whose ``id`` is ``pick(case)`` (random for a coin flip)."""

    def __init__(self, name: str, pick: object) -> None:
        self.name = name
        self.pick = pick
        self.seen: list[JsonValue] = []

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        self.seen.extend(cases)
        out = []
        for case in cases:
            ident = self.pick(case) if callable(self.pick) else self.pick
            out.append(Observation(self.name, json.dumps({"n": case["n"], "id": ident})))
        return out

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


def run(targets: list[Answering], *, fail_on_unstable: bool = True) -> RunSummary:
    settings = EngineSettings(max_examples=200, seed=5, fail_on_unstable=fail_on_unstable)
    return Engine(suites=[Echo()], targets=targets, settings=settings).run()


def test_a_runtime_that_answers_one_case_two_ways_is_one_unstable_finding() -> None:
    coin = random.Random(1)
    summary = run([Answering("go", lambda case: coin.choice([7, 8])), Answering("rust", 7)])
    [suite] = summary.suites
    assert suite.aa_pairs > 0
    [finding] = suite.findings
    failure = finding.failure
    assert (failure.cls, failure.path, failure.blamed) == (
        DivergenceClass.UNSTABLE,
        "$.id",
        ("go",),
    )
    # The value findings at that path folded into it: counted, not reported.
    assert finding.occurrences > suite.aa_pairs // 4
    assert summary.exit_code == 1


def test_a_stable_divergence_is_never_unstable() -> None:
    summary = run([Answering("go", 8), Answering("rust", 7)])
    [finding] = summary.suites[0].findings
    assert (finding.failure.cls, finding.failure.blamed) == (DivergenceClass.VALUE, ("go",))
    assert summary.suites[0].aa_pairs > 0


def test_an_unstable_path_can_be_kept_out_of_the_gate() -> None:
    coin = random.Random(2)
    summary = run(
        [Answering("go", lambda case: coin.choice([7, 8])), Answering("rust", 7)],
        fail_on_unstable=False,
    )
    [finding] = summary.suites[0].findings
    assert finding.failure.cls is DivergenceClass.UNSTABLE and finding.exempt
    assert summary.exit_code == 0


def test_a_declared_volatile_path_hides_its_variation_and_reports_its_use() -> None:
    coin = random.Random(3)
    targets = [Answering("go", lambda case: coin.choice([7, 8])), Answering("rust", 7)]
    declared = [
        Declared("iterate", "$.id", "a request id"),
        Declared("iterate", "$.never", "nothing varies here"),
    ]
    settings = EngineSettings(max_examples=200, seed=5)
    summary = Engine(suites=[Echo()], targets=targets, settings=settings, declared=declared).run()
    assert summary.suites[0].findings == [] and summary.exit_code == 0
    used, unused = summary.declared_volatile
    assert used["path"] == "$.id" and used["varied"] > 0 and not used["unused"]
    assert unused["path"] == "$.never" and unused["unused"]


def test_a_seed_draws_the_same_cases_whatever_the_database_holds(tmp_path: Path) -> None:
    """Each run in a fresh interpreter, as ``parity run`` is: the first fills
    the example database, the second replays it first and apart."""
    database = tmp_path / "db"

    def drawn() -> list[JsonValue]:
        done = subprocess.run(
            [sys.executable, "-m", "tests.draws", str(database)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines()]

    first = drawn()
    assert any((database).rglob("*")), "the first run kept its findings' examples"
    second = drawn()
    replayed = len(second) - len(first)
    assert replayed > 0, "the stored examples are replayed first"
    assert second[replayed:] == first


class Losing(Answering):
    """A streaming target whose answers never come (a lost request): no
    thread holds them, so nothing is left behind when the test ends."""

    def submit(self, suite: str, cases: Sequence[JsonValue]) -> list[Future[Observation]]:
        return [Future() for _ in cases]


def test_an_answer_that_never_comes_ends_the_run_with_exit_2_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "ANSWER_BOUND_S", 0.2)
    summary = run([Losing("go", 7), Answering("rust", 7)])
    assert summary.exit_code == 2
    (suite,) = summary.suites
    assert suite.errors and "lost track of a request" in suite.errors[0].failure.message
