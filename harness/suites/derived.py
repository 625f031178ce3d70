"""The derived ``sessions`` suite: after ``iterate`` and ``faults``, the session
log of each runtime holds exactly one row per session it answered,
schema-valid and equal to the reference's row once the volatile fields are
stripped (CONTRACT §4, §5; ``volatile.SESSION_RECORD``).

Its cases are the sessions those suites produced (``SessionSuite.produced``);
each target answers from its session log (``targets.http.LogLookup``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness import compare, volatile
from harness.mock_llm import CASE_MARKER_RE, case_marker
from harness.model import REFERENCE, Difference, DivergenceClass, JsonValue, Observation, Session
from harness.suites import registry
from harness.suites.base import DerivedSuite
from harness.suites.common import HOP_FAILED, infra_differences, parsed_body, schema_list
from harness.suites.produced import ProducedSession
from harness.targets.http import LogLookup
from reference_impl.jsonmodel import dumps
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.session import INFRA_ERROR_LIMIT, note_row
from reference_impl.text import cut


class SessionRows(DerivedSuite):
    """One row per session and runtime, equal to the reference's."""

    def __init__(
        self, depends_on: tuple[str, ...] = registry.BY_NAME[registry.SESSIONS].depends_on
    ) -> None:
        self.name = registry.SESSIONS
        self.description = "one schema-valid log row per session and runtime (CONTRACT §4)"
        self.depends_on = depends_on
        self.batch_size = 128
        self.free_roots = ("$.artifact",)

    def cases(self, produced: Mapping[str, Sequence[Any]]) -> list[ProducedSession]:
        return [
            entry
            for origin in self.depends_on
            for entry in produced.get(origin, ())
            if isinstance(entry, ProducedSession)
        ]

    def reference(self, execution: ProducedSession, hit: Hit = ignore) -> Observation:
        session = Session(execution.session, minted=execution.minted, answers=execution.answered)
        if hit is not ignore:
            note_session(execution, hit)
        return Observation(REFERENCE, dumps(execution.row), session=session)

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return compare_sessions(reference, target)

    @staticmethod
    def lookup() -> LogLookup:
        """How a target answers: the rows of its log for the case's session."""
        return LogLookup(key=_session_of, row_key=session_key)


def _session_of(case: ProducedSession) -> str:
    return case.session


def note_session(entry: ProducedSession, hit: Hit) -> None:
    """The §2 and §4 rules the row of a produced session shows (its
    request: the case's, with the case marker the prompt was sent with)."""
    row, case = entry.row, entry.case
    request = case.get("request") if isinstance(case, dict) else None
    if not isinstance(row, dict) or not isinstance(request, dict):
        return
    prompt = request.get("prompt")
    sent = f"{case_marker(entry.session)} {prompt}" if isinstance(prompt, str) else None
    note_row(row, hit, prompt=sent)
    limit = request.get("max_iterations")
    if limit is None:
        hit(Rule.MAX_ITERATIONS_DEFAULT)
    elif isinstance(limit, int) and limit < 1:
        hit(Rule.MAX_ITERATIONS_CLAMPED)
    hit(Rule.TRACE_MINTED if entry.minted else Rule.TRACE_GIVEN)


def session_key(line: str) -> str | None:
    """The session a log line belongs to: the marker at the start of its prompt."""
    match = CASE_MARKER_RE.search(line)
    return match.group(1) if match else None


@functools.lru_cache(maxsize=256)
def row_projection(minted: bool, infra_prefix: str | None) -> compare.Projection:
    shape = dict(volatile.SESSION_RECORD.shape_only)
    if minted:
        shape.update(volatile.MINTED_SESSION_ID.shape_only)
    if infra_prefix is not None:
        shape["$.attempts[0].error"] = re.escape(infra_prefix) + r"(?s:.*)"
    return compare.Projection(
        drop=volatile.SESSION_RECORD.drop, shape_only=shape, json_strings=("$.attempts[*].error",)
    )


def _infra_prefix(row: JsonValue) -> str | None:
    if not isinstance(row, dict) or row.get("final_verdict") != "infra_error":
        return None
    attempts = row.get("attempts")
    first = attempts[0] if isinstance(attempts, list) and attempts else None
    error = first.get("error") if isinstance(first, dict) else None
    match = HOP_FAILED.match(error) if isinstance(error, str) else None
    return match.group(0) if match else None


def compare_sessions(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    answered = reference.session.answers if reference.session is not None else None
    if not answered or target.target not in answered:
        return ()  # that runtime never answered this session: nothing to join
    infra = infra_differences(target)
    if infra is not None:
        return infra
    session = reference.session.id if reference.session is not None else None
    lines = (target.text or "").split("\n") if target.text else []
    where = target.log or "its session log"
    if not lines:
        return (
            Difference(
                DivergenceClass.MISSING_FIELD,
                "$",
                expected="one row",
                actual="no row",
                note=f"no row for session {session} in {where}",
            ),
        )
    found: list[Difference] = []
    if len(lines) > 1:
        found.append(
            Difference(
                DivergenceClass.EXTRA_FIELD,
                "$",
                expected=1,
                actual=len(lines),
                note=f"{len(lines)} rows for session {session} in {where}: one per session",
            )
        )
    actual = parsed_body(lines[0])
    if isinstance(actual, Difference):
        return (*found, actual)
    found += schema_list("session-record", actual)
    seen = answered[target.target] or {}
    found += _row_matches_answer(actual, seen)
    expected = compare.parse_output(reference.text or "")
    minted = reference.session is not None and reference.session.minted
    projection = row_projection(minted, _infra_prefix(expected))
    found += compare.compare(
        expected,
        actual,
        expected_text=reference.text or "",
        actual_text=lines[0],
        projection=projection,
    )
    return tuple(found)


def _row_matches_answer(row: JsonValue, seen: Mapping[str, Any]) -> list[Difference]:
    """The row agrees with the runtime's own answer: the minted trace id it
    echoed, and the 502 body it sent (cut to 800 characters, decisions §3)."""
    if not isinstance(row, dict):
        return []
    found = []
    echoed = seen.get("trace_id")
    if isinstance(echoed, str) and row.get("session_id") != echoed:
        found.append(
            Difference(
                DivergenceClass.VALUE,
                "$.session_id",
                expected=echoed,
                actual=row.get("session_id"),
                note="the row's session_id is not the trace_id the response echoed",
            )
        )
    body = seen.get("body502")
    attempts = row.get("attempts")
    if isinstance(body, str) and isinstance(attempts, list) and attempts:
        error = attempts[0].get("error") if isinstance(attempts[0], dict) else None
        if error != cut(body, INFRA_ERROR_LIMIT):
            found.append(
                Difference(
                    DivergenceClass.VALUE,
                    "$.attempts[0].error",
                    expected=cut(body, INFRA_ERROR_LIMIT)[:400],
                    actual=error[:400] if isinstance(error, str) else error,
                    note="the infra_error row's error is not the 502 body it answered",
                )
            )
    return found
