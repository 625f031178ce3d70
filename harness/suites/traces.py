"""The derived ``traces`` suite (CONTRACT §7): after ``iterate`` and
``faults``, each runtime's live trace tree of every session it answered,
against the reference's (``reference_impl.trace``), with the linkage checks:
one tree per session, every observation under the session's trace id, which
is the response's ``trace_id`` and the row's ``session_id``, and each row
attempt's ``span_id`` naming the span of that attempt.

Its cases are the sessions those suites produced; each target answers with
what it sent its Langfuse stand-in (``suites.tracing.Tracing.read``). A
session whose delivery a collector fault lost (down, 500, 401) is not
compared: its response and row were, and later sessions show the recovery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from harness import compare
from harness.model import REFERENCE, Difference, DivergenceClass, JsonValue, Observation, Session
from harness.suites import registry
from harness.suites.base import DerivedSuite
from harness.suites.common import infra_differences
from harness.suites.derived import SessionRows
from harness.suites.live_compare import retry_parts
from harness.suites.produced import ProducedSession
from harness.suites.tracing import Tracing
from harness.targets.http import TreeLookup
from reference_impl.jsonmodel import dumps
from reference_impl.rules import Hit, ignore
from reference_impl.trace import note_tree, tree_from_json

# What §7 makes volatile in an event (ids and times), and the reference's
# note of which attempt a span is (the linkage check reads it).
VOLATILE_KEYS: Final = ("id", "start_time", "end_time", "iteration")
DEFAULT_LEVEL: Final = "DEFAULT"  # Langfuse's, for an observation sent without one
# The validation errors trees carry as JSON text, compared as JSON (§6).
PROJECTION: Final = compare.Projection(
    json_strings=(
        "$.events[*].output.error",
        "$.events[*].input.prompt.validation_error",
        "$.events[*].input[*].content.validation_error",
    )
)
_SPAN_NAME: Final = re.compile(r"iterate\.attempt\[(\d+)\]")


class TraceTrees(DerivedSuite):
    """One trace tree per session and runtime, equal to the reference's."""

    def __init__(
        self, depends_on: tuple[str, ...] = registry.BY_NAME[registry.TRACES].depends_on
    ) -> None:
        self.name = registry.TRACES
        self.description = "one Langfuse trace tree per session, linked to its row (CONTRACT §7)"
        self.depends_on = depends_on
        self.batch_size = 128
        self.free_roots = ()

    def cases(self, produced: Mapping[str, Sequence[Any]]) -> list[ProducedSession]:
        return [
            entry
            for origin in self.depends_on
            for entry in produced.get(origin, ())
            if isinstance(entry, ProducedSession) and entry.tree is not None
        ]

    def reference(self, execution: ProducedSession, hit: Hit = ignore) -> Observation:
        if hit is not ignore and isinstance(execution.tree, dict):
            note_tree(tree_from_json(execution.tree), hit)
        session = Session(
            execution.session,
            minted=execution.minted,
            answers=execution.answered,
            tree=execution.tree,
            collector=execution.collector,
        )
        return Observation(REFERENCE, dumps(execution.tree), session=session)

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return compare_trees(reference, target)

    @staticmethod
    def lookup(tracing: Tracing) -> TreeLookup:
        return TreeLookup(read=tracing.read, rows=SessionRows.lookup())


def compare_trees(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    session = reference.session
    if session is None or not session.answers or target.target not in session.answers:
        return ()  # that runtime never answered this session: nothing to join
    infra = infra_differences(target)
    if infra is not None:
        return infra
    expected = compare.parse_output(reference.text or "")
    sent = compare.parse_output(target.text or "")
    assert isinstance(expected, dict) and isinstance(sent, dict)
    if sent.get("faulted"):
        return ()
    split = _split(session.id, sent)
    if split:  # the news; its parts cannot be compared with one tree
        return tuple(split)
    events = sent.get("events") or []
    if not events:
        return (_no_tree(session.id, sent),)
    trace = _session_trace(expected, sent, session.answers[target.target])
    found = _row_links(trace, sent, events)
    found += _times(events)
    want = [_normal(e, trace) for e in expected.get("events") or []]
    got = [_normal(e) for e in events]
    found += compare.compare(
        {"events": want}, {"events": got}, expected_text="", actual_text="", projection=PROJECTION
    )
    return tuple(sorted(found, key=lambda d: (d.path, d.cls.value)))


def _session_trace(expected: dict[str, Any], sent: dict[str, Any], said: Mapping[str, str]) -> str:
    """The trace id every observation and the row must carry: the one sent
    in the header, or the one the runtime minted (as its response echoed it,
    else as its tree has it: a 502 echoes nothing)."""
    if not expected.get("minted"):
        return str(expected.get("trace_id"))
    return said.get("trace_id") or str(sent.get("trace_id"))


def _no_tree(session: str, sent: dict[str, Any]) -> Difference:
    waited = sent.get("waited_s")
    return Difference(
        DivergenceClass.MISSING_FIELD,
        "$",
        expected="one trace tree",
        actual="no tree",
        note=f"no trace tree for session {session} reached the Langfuse stand-in "
        f"(waited {waited} s)",
    )


def _split(session: str, sent: dict[str, Any]) -> list[Difference]:
    """A session whose observations went to more than one trace (the seeds'
    N+1 disconnected traces), or to none under its own trace id."""
    others = sent.get("others") or []
    if not others:
        return []
    trees = len(others) + (1 if sent.get("events") else 0)
    return [
        Difference(
            DivergenceClass.EXTRA_FIELD,
            "$.trees",
            expected=1,
            actual=trees,
            note=f"session {session} is {trees} trace trees, not one: "
            f"{', '.join(map(str, others[:3]))} beside its own trace "
            f"{sent.get('trace_id') or '(none)'}",
        )
    ]


def _row_links(trace: str, sent: dict[str, Any], events: list[Any]) -> list[Difference]:
    """The row's ``session_id`` is the tree's trace id; each attempt's
    ``span_id`` names the span ``iterate.attempt[i]`` of this tree."""
    row = sent.get("row")
    if not isinstance(row, dict):
        return []  # no row: the ``sessions`` suite reports it
    found: list[Difference] = []
    if row.get("session_id") != trace:
        found.append(
            _link("$.row.session_id", trace, row.get("session_id"), "the row's session_id")
        )
    by_id = {e.get("id"): e for e in events if isinstance(e, dict)}
    for iteration, span_id in row.get("spans") or []:
        named = by_id.get(span_id)
        name = str(named.get("name")) if named is not None else ""
        attempt = _SPAN_NAME.fullmatch(name) if named and named.get("type") == "span" else None
        if attempt is None or int(attempt.group(1)) != iteration:
            what = f"the {named.get('type')} {name!r}" if named else "no span of this tree"
            found.append(
                _link(
                    f"$.row.attempts[{iteration}].span_id",
                    f"the id of span iterate.attempt[{iteration}]",
                    what,
                    f"attempt {iteration}'s span_id",
                )
            )
    return found


def _link(path: str, expected: JsonValue, actual: JsonValue, what: str) -> Difference:
    return Difference(
        DivergenceClass.VALUE, path, expected=expected, actual=actual, note=f"{what} names {actual}"
    )


def _times(events: list[Any]) -> list[Difference]:
    found = []
    for index, event in enumerate(events):
        start, end = event.get("start_time"), event.get("end_time")
        if isinstance(start, str) and isinstance(end, str) and start > end:
            found.append(
                Difference(
                    DivergenceClass.VALUE,
                    f"$.events[{index}].end_time",
                    expected=f">= {start}",
                    actual=end,
                    note=f"event {index} ends before it starts",
                )
            )
    return found


def _normal(event: Any, trace: str | None = None) -> Any:
    """An event as §7 compares it: no volatile keys; an observation without a
    level at Langfuse's default; retry prompts split around the validation
    error they carry (compared as JSON, as in the model calls); with
    ``trace``, under the session's trace id (the reference's own is a
    placeholder when the runtime mints it)."""
    if not isinstance(event, dict):
        return event
    out = {key: value for key, value in event.items() if key not in VOLATILE_KEYS}
    if out.get("type") != "trace":
        out.setdefault("level", DEFAULT_LEVEL)
    if trace is not None:
        out["trace_id"] = trace
    given = out.get("input")
    if out.get("type") == "generation" and isinstance(given, list):
        out["input"] = [
            {**m, "content": retry_parts(m.get("content"))} if isinstance(m, dict) else m
            for m in given
        ]
    elif isinstance(given, dict) and "prompt" in given:
        out["input"] = {**given, "prompt": retry_parts(given["prompt"])}
    return out
