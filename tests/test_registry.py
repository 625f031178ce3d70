"""One list of suites: what the config schema accepts, what the CLI offers and
the order suites run in all come from ``harness.suites.registry``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.langfuse import LangfuseStandIn
from harness.mock_llm import ScriptedModel
from harness.suites import registry
from harness.suites.catalog import PROBE_SUITES, LiveSuites
from harness.suites.tracing import Tracing
from reference_impl.roster import load_roster

REPO = Path(__file__).resolve().parents[1]


def test_the_config_schema_names_exactly_the_registered_suites() -> None:
    schema = json.loads((REPO / "schemas" / "config.json").read_text(encoding="utf-8"))
    enum = schema["properties"]["run"]["properties"]["suites"]["items"]["enum"]
    assert sorted(enum) == sorted(registry.ALL)


def test_every_registered_suite_has_an_object_of_its_kind() -> None:
    tracing = Tracing(LangfuseStandIn(), ["rust", "go"])  # not started: routes only
    roster = load_roster(REPO / "fixtures" / "roster.jsonl")
    live = LiveSuites(ScriptedModel(), roster, tracing=tracing)
    objects = {**PROBE_SUITES, **live.suites}
    assert sorted(objects) == sorted(registry.ALL)
    for info in registry.REGISTRY:
        assert objects[info.name].kind == info.kind
        assert getattr(objects[info.name], "depends_on", ()) == info.depends_on
    assert sorted(live.routes()) == sorted(registry.SERVICE)


def test_suites_run_after_what_they_depend_on() -> None:
    assert registry.ordered(["sessions", "faults", "extract_json"]) == [
        "extract_json",
        "faults",
        "sessions",
    ]
    assert registry.ordered(registry.ALL) == list(registry.ALL)
    with pytest.raises(KeyError):
        registry.ordered(["nope"])


def test_a_derived_suite_brings_its_sources_only_when_none_was_asked_for() -> None:
    available = registry.ALL
    assert registry.with_dependencies({"sessions"}, available) == {
        "sessions",
        "iterate",
        "faults",
        "collector_faults",
    }
    assert registry.with_dependencies({"sessions", "faults"}, available) == {"sessions", "faults"}
    assert registry.with_dependencies({"sessions"}, ("faults",)) == {"sessions", "faults"}
