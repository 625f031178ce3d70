"""Nothing but a divergence or parity ends a run quietly: an unsatisfiable
strategy, a suite whose cases never arrive, a comparison that raises and a
handler of the harness's own servers that raises each end the run with exit
2 and a message naming the suite, never exit 0 or 1."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import strategies as st

from harness import reports
from harness.cli import main
from harness.engine import Engine, EngineSettings
from harness.engine.health import Watched
from harness.environment import probe_targets
from harness.events import Event, SuiteFinished
from harness.http_server import HandlerErrors, Request
from harness.mock_llm.dialect import ChatApi
from harness.mock_llm.routes import Router
from harness.model import REFERENCE, Difference, JsonValue, Observation, RunSummary
from harness.stacks import StackSpec
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


def run(
    suites: Sequence[Suite], targets: list[Target], servers: Sequence[Watched] = ()
) -> RunSummary:
    settings = EngineSettings(max_examples=50, seed=7, shrink=False)
    return Engine(suites=suites, targets=targets, settings=settings, servers=servers).run()


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


def test_a_server_handler_error_ends_the_run_with_its_first_reason(
    targets: list[Target],
) -> None:
    """The engine checks the servers it watches after each suite: one that
    counted a handler error (here, recorded as a comparison runs: any
    thread may) ends the run with exit 2, its first error named, and the
    suites after it do not run."""
    errors = HandlerErrors()
    seen = 0

    def compare(reference: Observation, target: Observation) -> tuple[Difference, ...]:
        nonlocal seen
        seen += 1
        if seen in (20, 40):
            errors.record(f"rust POST /v1/chat/completions #{seen}", KeyError("a bug"))
        return compare_extract_json(reference, target)

    suites = [dataclasses.replace(EXTRACT_JSON, compare=compare), NeverFed()]
    summary = run(suites, targets, [Watched("the Langfuse stand-in", errors)])

    assert summary.exit_code == 2
    assert [s.suite for s in summary.suites] == ["extract_json"]
    assert the_error(summary) == (
        "suite extract_json: the Langfuse stand-in failed to answer 2 request(s) "
        "(each answered 500: a harness bug, not a divergence); the first: "
        "rust POST /v1/chat/completions #20: KeyError: 'a bug'"
    )
    [suite] = summary.suites
    assert suite.stop_reason == "error" and suite.findings == []
    assert suite.traceback is not None and "KeyError: 'a bug'" in suite.traceback


def test_a_server_handler_error_while_causes_are_replayed_ends_the_run(tmp_path: Path) -> None:
    """The causes pass replays each finding's minimal case through the same
    servers: an error counted then makes the causes untrustworthy, and the
    run ends with exit 2 all the same (the error on its last suite)."""
    fakes = Fakes.new(tmp_path)
    made = probe_targets(fakes.config(("extract_json",), "type"), [EXTRACT_JSON])
    errors = HandlerErrors()
    suites_done = False

    def compare(reference: Observation, target: Observation) -> tuple[Difference, ...]:
        if suites_done and not errors.count:
            errors.record("rust POST /api/public/ingestion", ValueError("a bug"))
        return compare_extract_json(reference, target)

    def listen(event: Event) -> None:
        nonlocal suites_done
        suites_done = suites_done or isinstance(event, SuiteFinished)

    settings = EngineSettings(max_examples=50, seed=7, shrink=False)
    suite = dataclasses.replace(EXTRACT_JSON, compare=compare)
    watched = [Watched("the Langfuse stand-in", errors)]
    try:
        engine = Engine(
            suites=[suite], targets=made, settings=settings, listeners=[listen], servers=watched
        )
        summary = engine.run()
    finally:
        for target in made:
            target.close()
    fakes.assert_none_left()

    assert summary.exit_code == 2
    [suite_summary] = summary.suites
    assert suite_summary.findings and suite_summary.replayed > 0  # it did reach the causes
    assert the_error(summary) == (
        "suite extract_json: while grouping findings into causes: the Langfuse stand-in "
        "failed to answer 1 request(s) (each answered 500: a harness bug, not a divergence); "
        "the first: rust POST /api/public/ingestion: ValueError: a bug"
    )


def test_a_scripted_model_whose_router_raises_is_exit_2_not_a_divergence(
    real_specs: dict[str, StackSpec], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real run (the sample stacks behind the scripted model) whose router
    raises on one chat call: each runtime answers that 500 with a 502, as it
    would a broken model, and the run says it was a harness bug instead."""
    chat = Router._chat
    calls = 0

    async def buggy(self: Router, api: ChatApi, request: Request) -> object:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise ZeroDivisionError("a bug in the router")
        return await chat(self, api, request)

    monkeypatch.setattr(Router, "_chat", buggy)
    report = tmp_path / "report"
    args = ["run", "--suite", "iterate", "--max-examples", "20", "--no-shrink", "--seed", "3"]
    done = CliRunner().invoke(main, [*args, "--report-dir", str(report)])

    assert done.exit_code == 2, done.output
    output = " ".join(done.output.split())
    assert "the scripted model failed to answer 1 request(s)" in output
    assert "ZeroDivisionError: a bug in the router" in output
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["exit_code"] == 2
    assert document["suites"]["iterate"]["stop_reason"] == "error"
    assert "in buggy" in document["suites"]["iterate"]["traceback"]
