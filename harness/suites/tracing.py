"""A run's tracing (CONTRACT §7): the Langfuse stand-in every runtime sends
its trace tree to (one listener per target, named after it), the collector
faults the ``faults`` suite switches on for single sessions, and a session's
tree read back for the ``traces`` suite.

A tree is read once the runtime has sent it all: at once when it holds as
many observations as the reference's, otherwise when the runtime's collector
has been quiet for ``TREE_QUIET_S`` since the session ended (the runtimes
flush at least every second), and at most ``TREE_WAIT_S``: a tree that never
arrives is a finding, never a hang.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from harness import defaults
from harness.langfuse import LangfuseStandIn
from harness.langfuse.faults import CollectorFault, FaultRule, rule
from harness.langfuse.observation import Tree, TreeObservation
from harness.mock_llm import CASE_MARKER_RE
from harness.model import JsonValue
from harness.strategies.collector import HEALTHY
from harness.suites.produced import ProducedSession
from reference_impl.rules import Rule

# The collector faults a session may run under, by their name in a case,
# and a healthy collector (a case of the collector suite without a fault).
COLLECTOR_FAULTS: Final = (*(fault.value for fault in CollectorFault), HEALTHY)
COLLECTOR_RULES: Final = {
    CollectorFault.DOWN.value: Rule.COLLECTOR_DOWN,
    CollectorFault.SLOW.value: Rule.COLLECTOR_SLOW,
    CollectorFault.HTTP_500.value: Rule.COLLECTOR_500,
    CollectorFault.HTTP_401.value: Rule.COLLECTOR_401,
    HEALTHY: Rule.COLLECTOR_HEALTHY,
}


@dataclass(frozen=True)
class Armed:
    """The collector fault switched on for one session, on every listener."""

    rules: tuple[tuple[str, FaultRule], ...]


class Tracing:
    """The stand-in of one run, its listeners named after the targets."""

    def __init__(self, standin: LangfuseStandIn, targets: Sequence[str]) -> None:
        self.standin = standin
        self.targets = tuple(targets)

    # -- collector faults ------------------------------------------------------------

    def arm(self, trace_id: str, mode: str) -> Armed:
        """Fault every request that carries ``trace_id``'s events."""
        delay = defaults.COLLECTOR_SLOW_S if mode == CollectorFault.SLOW else 0.0
        armed = Armed(
            tuple((name, rule(mode, sessions=[trace_id], delay_s=delay)) for name in self.targets)
        )
        for name, added in armed.rules:
            self.standin.add_fault(name, added)
        return armed

    def disarm(self, armed: Armed) -> None:
        for name, added in armed.rules:
            self.standin.remove_fault(name, added)

    # -- reading a tree back -----------------------------------------------------------

    def read(self, target: str, entry: JsonValue, rows: list[str]) -> str:
        """What ``target`` sent for the session ``entry``, as the ``traces``
        suite compares it (JSON text; ``traces.compare_trees`` reads it)."""
        assert isinstance(entry, ProducedSession)
        expected = entry.tree if isinstance(entry.tree, dict) else {}
        events = expected.get("events")
        count = len(events) if isinstance(events, list) else 0
        row = _row_linkage(rows)
        trace = _trace_of(entry, target, row)
        store = self.standin.collector.store

        def complete() -> bool:  # as many observations as expected, in any tree
            return store.indexed(target, entry.session)[0] >= count

        waited = self.standin.settle(
            target,
            since=entry.ended_at,
            quiet_s=defaults.TREE_QUIET_S,
            timeout_s=defaults.TREE_WAIT_S,
            done=complete,
        )
        primary, others = self._trees(target, trace, entry.session)
        answer: dict[str, JsonValue] = {
            "trace_id": primary.trace_id if primary is not None else None,
            "events": [_event(o) for o in primary.observations] if primary is not None else [],
            "others": [tree.trace_id for tree in others],
            "faulted": self.standin.was_faulted(target, trace, entry.session),
            "waited_s": round(waited, 3),
            "row": row,
        }
        # Trees are kept for the run: a session is read again when its case
        # is (settling, causes, the gate), and must read the same.
        return json.dumps(answer, ensure_ascii=False)

    def _trees(
        self, target: str, trace: str | None, session: str
    ) -> tuple[Tree | None, list[Tree]]:
        """The session's tree (by its trace id, else the one that names the
        session) and every other tree that names the session."""
        primary = self.standin.tree(target, trace) if trace else None
        _, ids = self.standin.collector.store.indexed(target, session)
        naming = [t for t in (self.standin.tree(target, i) for i in sorted(ids)) if t is not None]
        if trace is None and naming:
            primary = naming[0]  # no id to go by: the first tree that names it
        others = [t for t in naming if primary is None or t.trace_id != primary.trace_id]
        return primary, others


def session_of(observation: TreeObservation) -> str | None:
    """The session an observation belongs to: the case marker its input names
    (every observation of a session's tree carries the prompt, which opens
    with it); the stand-in's index (``TraceStore(index=...)``)."""
    if observation.input is None:
        return None
    found = CASE_MARKER_RE.search(json.dumps(observation.input, ensure_ascii=False))
    return found.group(1) if found else None


def _trace_of(entry: ProducedSession, target: str, row: dict[str, JsonValue] | None) -> str | None:
    """The trace id the session ran under on ``target``: the one sent, or the
    one it minted, as its response echoed it or else (a 502 echoes nothing)
    as its row has it (None: neither; the tree is found by the session)."""
    said = entry.answered.get(target, {})
    if "trace_id" in said:
        return said["trace_id"]
    tree = entry.tree if isinstance(entry.tree, dict) else {}
    trace = tree.get("trace_id") if not tree.get("minted") else None
    if trace is None and row is not None:
        trace = row.get("session_id")
    return trace if isinstance(trace, str) else None


def _event(observation: TreeObservation) -> dict[str, JsonValue]:
    """One observation as §7 compares it, with its id and times (volatile,
    but checked: the row's span ids, ``start_time <= end_time``)."""
    event: dict[str, JsonValue] = {
        "type": observation.type,
        "name": observation.name,
        "trace_id": observation.trace_id,
        "parent_id": observation.parent_id,
        "status_message": observation.status_message is not None,
    }
    optional: dict[str, JsonValue] = {
        "input": observation.input,
        "output": observation.output,
        "level": observation.level,
        "model": observation.model,
        "model_parameters": observation.model_parameters,
    }
    event.update({key: value for key, value in optional.items() if value is not None})
    event.update(
        id=observation.id, start_time=observation.start_time, end_time=observation.end_time
    )
    return event


def _row_linkage(rows: list[str]) -> dict[str, JsonValue] | None:
    """What the session's row says of its tree: its ``session_id`` and each
    attempt's ``span_id`` (None: no row that parses; ``sessions`` says why)."""
    for line in rows:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        attempts = row.get("attempts")
        spans: list[JsonValue] = [
            [attempt.get("iteration"), attempt.get("span_id")]
            for attempt in (attempts if isinstance(attempts, list) else [])
            if isinstance(attempt, dict) and "span_id" in attempt
        ]
        return {"session_id": row.get("session_id"), "spans": spans}
    return None
