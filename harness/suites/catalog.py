"""The suite objects of a run: the probe suites are fixed; the live and
derived ones are bound to the run's scripted model and roster."""

from __future__ import annotations

from typing import Final

from harness import defaults
from harness.mock_llm import ScriptedModel
from harness.model import JsonValue
from harness.strategies import fault_scenarios, iterate_scenarios
from harness.strategies.collector import collector_scenarios
from harness.suites import registry
from harness.suites.base import DerivedSuite, LiveSuite, ProbeSuite
from harness.suites.derived import SessionRows
from harness.suites.live import Instance, Sessions, SessionSuite, ValidateSuite
from harness.suites.probe import EXTRACT_JSON, SESSION_LOG
from harness.suites.traces import TraceTrees
from harness.suites.tracing import Tracing
from harness.targets.http import Route
from reference_impl.roster import Roster

PROBE_SUITES: Final[dict[str, ProbeSuite]] = {s.name: s for s in (EXTRACT_JSON, SESSION_LOG)}


class LiveSuites:
    """The live and derived suites of one run, and the HTTP routes that feed
    the targets for each (``targets.http.HttpTarget``)."""

    def __init__(
        self,
        model: ScriptedModel,
        roster: Roster,
        *,
        upstream_timeout_s: float = defaults.UPSTREAM_TIMEOUT_MS / 1000,
        tag: str | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.tracing = tracing
        self.sessions = Sessions(
            model, roster, upstream_timeout_s=upstream_timeout_s, tag=tag, tracing=tracing
        )
        self.suites: dict[str, LiveSuite | DerivedSuite] = {
            registry.VALIDATE: ValidateSuite(roster),
            registry.ITERATE: SessionSuite(
                registry.ITERATE,
                "/v1/iterate sessions over a scripted model (CONTRACT §2)",
                iterate_scenarios(),
                self.sessions,
                batch_size=128,
            ),
            registry.FAULTS: SessionSuite(
                registry.FAULTS,
                "/v1/iterate when the model fails (502 and an infra_error row)",
                fault_scenarios(),
                self.sessions,
                batch_size=100,
            ),
            registry.COLLECTOR: SessionSuite(
                registry.COLLECTOR,
                "/v1/iterate while the Langfuse collector is down, slow, 500 or 401 (CONTRACT §7)",
                collector_scenarios(),
                self.sessions,
                batch_size=defaults.COLLECTOR_BATCH,
            ),
            registry.SESSIONS: SessionRows(),
            registry.TRACES: TraceTrees(),  # answered only when the run traces
        }

    def routes(self) -> dict[str, Route]:
        routes: dict[str, Route] = {
            registry.VALIDATE: ValidateSuite.request,
            registry.ITERATE: self.sessions.request,
            registry.FAULTS: self.sessions.request,
            registry.COLLECTOR: self.sessions.request,
            registry.SESSIONS: SessionRows.lookup(),
        }
        if self.tracing is not None:
            routes[registry.TRACES] = TraceTrees.lookup(self.tracing)
        return routes

    def instance(self, case: JsonValue) -> Instance:
        """A fresh session for one execution of an iterate or faults case."""
        return self.sessions.instance(case)
