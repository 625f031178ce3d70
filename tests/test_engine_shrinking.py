"""The engine shrinks what it finds through Hypothesis alone: a pass seeded
with the choices that drew the finding's smallest example. Over in-process
targets, so that only the engine and the strategies are under test."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import strategies as st

from harness.engine import Engine, EngineSettings
from harness.model import REFERENCE, Difference, DivergenceClass, JsonValue, Observation
from harness.strategies import fault_scenarios, iterate_scenarios
from harness.suites.base import LiveSuite
from reference_impl.rules import Hit, ignore

Predicate = Callable[[JsonValue], bool]


class Wrong:
    """A target that answers like the reference except where ``wrong`` holds."""

    def __init__(self, name: str, wrong: Predicate) -> None:
        self.name = name
        self.wrong = wrong
        self.calls = 0

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        self.calls += len(cases)
        return [Observation(self.name, "bad" if self.wrong(c) else "ok") for c in cases]

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


class Scenarios(LiveSuite):
    def __init__(self, strategy: st.SearchStrategy[JsonValue]) -> None:
        self.name = "iterate"
        self.description = "scenarios against in-process targets"
        self.strategy = strategy
        self.batch_size = 32

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        return Observation(REFERENCE, "ok")

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        if target.text == reference.text:
            return ()
        return (Difference(DivergenceClass.VALUE, "$", reference.text, target.text),)


def shrunk(strategy: st.SearchStrategy[JsonValue], wrong: Predicate, tmp: Path) -> JsonValue:
    targets = [Wrong("rust", wrong), Wrong("go", lambda _: False)]
    settings = EngineSettings(max_examples=300, seed=3, database=tmp / "db")
    summary = Engine(suites=[Scenarios(strategy)], targets=targets, settings=settings).run()
    [finding] = summary.suites[0].findings
    assert finding.failure.blamed == ("rust",)
    return finding.example.input


def no_json(reply: JsonValue) -> bool:
    return isinstance(reply, str) and "{" not in reply and "[" not in reply


def test_a_live_scenario_shrinks_to_its_trigger(tmp_path: Path) -> None:
    def wrong(case: JsonValue) -> bool:
        return any(no_json(r) for r in case["replies"]) and len(case["replies"]) >= 2

    case = shrunk(iterate_scenarios(), wrong, tmp_path)
    assert wrong(case)
    assert len(case["replies"]) == 2
    assert case["trace"] is None and "system" not in case["request"]
    # The old JSON reducer left 93-111 characters of nonsense values; Hypothesis
    # leaves a well-formed scenario of realistic ones.
    assert len(json.dumps(case)) <= 400


def test_a_fault_scenario_shrinks_to_its_fault(tmp_path: Path) -> None:
    def wrong(case: JsonValue) -> bool:
        return any(isinstance(r, dict) and r.get("fault") == "drop" for r in case["replies"])

    case = shrunk(fault_scenarios(), wrong, tmp_path)
    assert wrong(case)
    assert len(case["replies"]) <= 2  # the fault, and what the model says if asked again
    assert len(json.dumps(case)) <= 400


def test_the_database_replays_the_smallest_example_first(tmp_path: Path) -> None:
    def wrong(case: JsonValue) -> bool:
        return case["request"].get("max_iterations") == 0

    first = shrunk(iterate_scenarios(), wrong, tmp_path)
    seen: list[JsonValue] = []

    def recording(case: JsonValue) -> bool:
        seen.append(case)
        return wrong(case)

    again = shrunk(iterate_scenarios(), recording, tmp_path)
    assert seen[0] == first  # replayed before anything is generated
    assert again == first


def test_a_finding_s_message_describes_the_example_shown_with_it(tmp_path: Path) -> None:
    def wrong(case: JsonValue) -> bool:
        return any(no_json(r) for r in case["replies"])

    class Saying(Wrong):
        def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
            # The answer names the case, so each case's message differs.
            return [
                Observation(self.name, f"bad {len(json.dumps(c))}" if self.wrong(c) else "ok")
                for c in cases
            ]

    targets = [Saying("rust", wrong), Wrong("go", lambda _: False)]
    settings = EngineSettings(max_examples=300, seed=3, database=tmp_path / "db")
    summary = Engine(
        suites=[Scenarios(iterate_scenarios())], targets=targets, settings=settings
    ).run()
    [finding] = summary.suites[0].findings
    assert finding.occurrences > 1
    assert f'rust "bad {len(json.dumps(finding.example.input))}"' in finding.failure.message
