"""Suites: what a case is, how the reference answers it, how targets are fed
it, and how two answers compare.

The probe suites (``extract_json``, ``session_log``) live here; the live HTTP
suites build on the same ``Suite`` shape.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

from harness import compare, schema_store
from harness.config import ProbeConfig
from harness.model import Difference, DivergenceClass, JsonValue, Observation
from harness.strategies import model_outputs, session_record_texts
from harness.targets.probe import ProbeEncoding
from reference_impl.probes import answer_extract_json, answer_session_log

CompareFn = Callable[[Observation, Observation], tuple[Difference, ...]]
Cases = list[JsonValue]


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    strategy: st.SearchStrategy[JsonValue]
    # The reference's answer: output text, or a whole Observation (live suites).
    reference: Callable[[JsonValue], str | Observation]
    encoding: ProbeEncoding | None  # None: not a probe suite
    compare: CompareFn
    batch_size: int = 16
    # Subtrees whose keys are model output: one finding per subtree (model.generalise_path).
    free_roots: tuple[str, ...] = ()
    # Live suites: ``prepare`` turns a batch of cases into what the reference
    # and the targets are given (one fresh session per execution, its model
    # script registered); ``release`` runs once they have answered.
    prepare: Callable[[Cases], Cases] | None = None
    release: Callable[[Cases], None] | None = None
    # A post-hoc suite: its cases are collected from what earlier suites did
    # (no generation, no shrinking); ``strategy`` is then unused.
    collect: Callable[[], Cases] | None = None
    # Let Hypothesis shrink whole failing batches. Live suites say no: a batch
    # of sessions costs seconds, so only single cases are reduced, on a budget.
    shrink_batches: bool = True
    # Whether a reduced case is still a case of this suite (None: any is). The
    # reducer edits JSON blindly; this keeps it within what the suite sends.
    admissible: Callable[[JsonValue], bool] | None = None

    def size(self, case: JsonValue) -> int:
        """How big a case is, to keep the smallest example of each failure."""
        return len(case) if isinstance(case, str) else len(json.dumps(case))

    def shell_line(self, case: JsonValue, probe: ProbeConfig) -> str:
        """A line a person can paste to reproduce the case against one probe.

        Printed for humans, never executed by the harness: the input is model
        output, so every argument is quoted.
        """
        if self.encoding is None:
            return ""
        command = " ".join(shlex.quote(part) for part in probe.command)
        encode = self.encoding.jsonl if probe.mode == "jsonl" else self.encoding.oneshot
        data = encode(case)
        return f"printf '%s' {shlex.quote(data)} | {command}"


def infra_differences(observation: Observation) -> tuple[Difference, ...] | None:
    """The one difference of a target that crashed, hung or could not be reached."""
    if observation.infra is None:
        return None
    return (
        Difference(
            observation.infra.kind,
            "$",
            actual=observation.stderr[-400:] or observation.infra.message,
            note=observation.infra.message,
        ),
    )


def parsed_or_difference(
    text: str | None, *, cls: DivergenceClass, note: str
) -> JsonValue | Difference:
    """The parsed output, or a difference of class ``cls`` when it is not JSON
    (``protocol`` for a probe line, ``schema`` for an HTTP body)."""
    try:
        return compare.parse_output(text or "")
    except ValueError:
        return Difference(cls, "$", actual=(text or "")[:400], note=note)


def schema_differences(name: str, value: JsonValue) -> tuple[Difference, ...]:
    """At most three violations of schema ``name``, as ``schema`` differences."""
    return tuple(
        Difference(DivergenceClass.SCHEMA, error.path, actual=None, note=f"{name}: {error.message}")
        for error in schema_store.errors(name, value)[:3]
    )


def _probe_answer(observation: Observation) -> JsonValue | tuple[Difference, ...]:
    """The parsed answer of a probe, or why there is none to compare."""
    infra = infra_differences(observation)
    if infra is not None:
        return infra
    answer = parsed_or_difference(
        observation.text, cls=DivergenceClass.PROTOCOL, note="output is not one JSON value"
    )
    return (answer,) if isinstance(answer, Difference) else answer


def _compare_answers(
    reference: Observation, target: Observation, expected: JsonValue, actual: JsonValue,
    projection: compare.Projection,
) -> tuple[Difference, ...]:  # fmt: skip
    return compare.compare(
        expected,
        actual,
        expected_text=reference.text or "",
        actual_text=target.text or "",
        projection=projection,
    )


# ---------------------------------------------------------------------------
# extract_json


def _is_answer(value: JsonValue) -> bool:
    """Exactly schemas/extract-json-answer.json, without jsonschema's cost per case."""
    if not isinstance(value, dict) or value.keys() != {"matched", "value"}:
        return False
    matched = value["matched"]
    if matched is True:
        return isinstance(value["value"], dict)
    return matched is False and value["value"] is None


def _extract_jsonl(case: JsonValue) -> str:
    return json.dumps({"raw": case})


def _extract_oneshot(case: JsonValue) -> str:
    return str(case)


_NO_PROJECTION: Final = compare.Projection()


def compare_extract_json(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    actual = _probe_answer(target)
    if isinstance(actual, tuple):
        return actual
    if not _is_answer(actual):  # the schema explains what is wrong
        return schema_differences("extract-json-answer", actual) or (
            Difference(DivergenceClass.SCHEMA, "$", note="not an extract_json answer"),
        )
    expected = compare.parse_output(reference.text or "")
    matched = compare.matched_difference(expected, actual)
    if matched is not None:
        return (matched,)
    return _compare_answers(reference, target, expected, actual, _NO_PROJECTION)


EXTRACT_JSON: Final = Suite(
    name="extract_json",
    description="extract_json on generated model output (CONTRACT §1)",
    strategy=model_outputs(),
    reference=lambda case: answer_extract_json(str(case)),
    encoding=ProbeEncoding(oneshot=_extract_oneshot, jsonl=_extract_jsonl),
    compare=compare_extract_json,
    free_roots=("$.value",),
)


# ---------------------------------------------------------------------------
# session_log

# CONTRACT §5: fields two correct runtimes may legitimately write differently.
SESSION_PROJECTION: Final = compare.Projection(
    drop=("$.timestamp", "$.daemon", "$.duration_ms"),
    shape_only={"$.attempts[*].span_id": r"(?s).+"},
)


def _is_error(value: JsonValue) -> bool:
    return isinstance(value, dict) and set(value) == {"error"}


def compare_session_log(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    actual = _probe_answer(target)
    if isinstance(actual, tuple):
        return actual
    if not isinstance(actual, dict):
        return (Difference(DivergenceClass.PROTOCOL, "$", note="answer is not a JSON object"),)
    expected = compare.parse_output(reference.text or "")
    if _is_error(expected) or _is_error(actual):
        if _is_error(expected) == _is_error(actual):
            return ()  # both rejected the record; messages may differ (CONTRACT §4)
        return (
            Difference(
                DivergenceClass.STATUS,
                "$",
                expected="rejected" if _is_error(expected) else "accepted",
                actual="rejected" if _is_error(actual) else "accepted",
                note=str(expected.get("error") or actual.get("error")),
            ),
        )
    return _compare_answers(reference, target, expected, actual, SESSION_PROJECTION)


SESSION_LOG: Final = Suite(
    name="session_log",
    description="session records round-tripped through each record type (CONTRACT §4)",
    strategy=session_record_texts(),
    reference=lambda case: answer_session_log(str(case)),
    encoding=ProbeEncoding(oneshot=_extract_oneshot, jsonl=str),
    compare=compare_session_log,
    free_roots=("$.artifact",),
)

PROBE_SUITES: Final = {suite.name: suite for suite in (EXTRACT_JSON, SESSION_LOG)}
