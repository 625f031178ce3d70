"""Nothing but a divergence or parity ends a run quietly: an unsatisfiable
strategy, a suite whose cases never arrive and a comparison that raises each
end the run with exit 2 and a message naming the suite, never exit 0."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import strategies as st

from harness import reports
from harness.engine import Engine, EngineSettings
from harness.environment import probe_targets
from harness.model import REFERENCE, Difference, JsonValue, Observation, RunSummary
from harness.suites.base import DerivedSuite, Suite
from harness.suites.probe import EXTRACT_JSON, compare_extract_json
from harness.targets.base import Target
from reference_impl.rules import Hit, ignore
from tests.fakes import Fakes


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[list[Target]]:
    fakes = Fakes.new(tmp_path)
    config = fakes.config(("extract_json",), "identical")
    made = probe_targets(config, [EXTRACT_JSON])
    yield made
    for target in made:
        target.close()
    fakes.assert_none_left()


def run(suites: Sequence[Suite], targets: list[Target]) -> RunSummary:
    settings = EngineSettings(max_examples=50, seed=7, shrink=False)
    return Engine(suites=suites, targets=targets, settings=settings).run()


def the_error(summary: RunSummary) -> str:
    [error] = [f for s in summary.suites for f in s.errors]
    return error.failure.message


def test_an_unsatisfiable_strategy_is_an_infrastructure_error(targets: list[Target]) -> None:
    never = dataclasses.replace(EXTRACT_JSON, strategy=st.text().filter(lambda _: False))
    summary = run([never], targets)

    assert summary.exit_code == 2
    message = the_error(summary)
    assert message.startswith("suite extract_json: Hypothesis: ")
    assert "Unsatisfiable" in message or "FailedHealthCheck" in message


class NeverFed(DerivedSuite):
    """A derived suite whose source produces nothing (extract_json produces
    no data for anyone)."""

    def __init__(self) -> None:
        self.name = "fed_by_extract_json"
        self.description = "checks what extract_json produced"
        self.depends_on = ("extract_json",)
        self.batch_size = 8

    def cases(self, produced: Mapping[str, Sequence[JsonValue]]) -> list[JsonValue]:
        return [item for items in produced.values() for item in items]

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        return Observation(REFERENCE, json.dumps(execution))

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return ()


def test_a_suite_whose_cases_never_arrive_is_an_infrastructure_error(
    targets: list[Target],
) -> None:
    summary = run([EXTRACT_JSON, NeverFed()], targets)

    assert summary.exit_code == 2
    assert [s.suite for s in summary.suites] == ["extract_json", "fed_by_extract_json"]
    assert summary.suites[0].cases >= 50 and summary.suites[0].errors == []
    assert the_error(summary) == (
        "suite fed_by_extract_json checked no case: none of the suites it checks "
        "(extract_json) produced anything"
    )


def test_a_comparison_that_raises_is_a_harness_error_with_its_traceback(
    targets: list[Target], tmp_path: Path
) -> None:
    seen = 0

    def boom(reference: Observation, target: Observation) -> tuple[Difference, ...]:
        nonlocal seen
        seen += 1
        if seen > 30:
            raise KeyError("a bug in a comparison")
        return compare_extract_json(reference, target)

    summary = run([dataclasses.replace(EXTRACT_JSON, compare=boom)], targets)

    assert summary.exit_code == 2
    assert the_error(summary) == (
        "suite extract_json: harness error: KeyError: 'a bug in a comparison'"
    )
    [suite] = summary.suites
    assert suite.traceback is not None and "in boom" in suite.traceback
    paths = reports.write_all(summary, tmp_path / "report")
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert "in boom" in document["suites"]["extract_json"]["traceback"]
    assert document["exit_code"] == 2
