"""The probe suites: ``extract_json`` (CONTRACT §1) and ``session_log`` (§4),
each answered by a probe program per target and by the reference in process."""

from __future__ import annotations

import functools
import json
import shlex
from typing import Final

from harness import compare, volatile
from harness.config import ProbeConfig
from harness.model import Difference, DivergenceClass, JsonValue, Observation
from harness.strategies import model_outputs, session_record_texts
from harness.suites import registry
from harness.suites.base import ProbeSuite
from harness.suites.common import compare_answers, probe_answer, schema_differences
from harness.targets.probe import ProbeEncoding
from reference_impl.probes import answer_extract_json, answer_session_log

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
    expected = _reference_answer(reference.text or "")
    if target.infra is None and target.text == reference.text and _is_answer(expected):
        return ()  # the very same line as a valid answer: nothing can differ
    actual = probe_answer(target)
    if isinstance(actual, tuple):
        return actual
    if not _is_answer(actual):  # the schema explains what is wrong
        return schema_differences("extract-json-answer", actual) or (
            Difference(DivergenceClass.SCHEMA, "$", note="not an extract_json answer"),
        )
    matched = compare.matched_difference(expected, actual)
    if matched is not None:
        return (matched,)
    return compare_answers(reference, target, expected, actual, _NO_PROJECTION)


@functools.lru_cache(maxsize=64)
def _reference_answer(text: str) -> JsonValue:
    """The reference's line, parsed once for all the targets compared with it
    (the cache holds the last few: a batch's lines come one after another)."""
    return compare.parse_output(text)


EXTRACT_JSON: Final = ProbeSuite(
    name=registry.EXTRACT_JSON,
    description="extract_json on generated model output (CONTRACT §1)",
    strategy=model_outputs(),
    answer=lambda case, hit: answer_extract_json(str(case), hit),
    encoding=ProbeEncoding(oneshot=_extract_oneshot, jsonl=_extract_jsonl),
    compare=compare_extract_json,
    batch_size=64,  # spreads Hypothesis's cost per example (benchmarks/extract_json_throughput.md)
    free_roots=("$.value",),
)


# ---------------------------------------------------------------------------
# session_log

# CONTRACT §5: what two correct runtimes may write differently in a row.
SESSION_PROJECTION: Final = compare.Projection(
    drop=volatile.SESSION_RECORD.drop, shape_only=volatile.SESSION_RECORD.shape_only
)


def _is_error(value: JsonValue) -> bool:
    return isinstance(value, dict) and set(value) == {"error"}


def compare_session_log(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    actual = probe_answer(target)
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
    return compare_answers(reference, target, expected, actual, SESSION_PROJECTION)


SESSION_LOG: Final = ProbeSuite(
    name=registry.SESSION_LOG,
    description="session records round-tripped through each record type (CONTRACT §4)",
    strategy=session_record_texts(),
    answer=lambda case, hit: answer_session_log(str(case), hit),
    encoding=ProbeEncoding(oneshot=_extract_oneshot, jsonl=str),
    compare=compare_session_log,
    # At 16 a case, the quick budget took 25 Hypothesis examples, and past its
    # first few Hypothesis mutates an example into near-copies: 60% of the
    # cases were ones checked already (benchmarks/results/rule_coverage.md).
    batch_size=64,
    free_roots=("$.artifact",),
)

PROBE_SUITES: Final = {suite.name: suite for suite in (EXTRACT_JSON, SESSION_LOG)}


def shell_line(suite: ProbeSuite, case: JsonValue, probe: ProbeConfig) -> str:
    """A line a person can paste to reproduce ``case`` against one probe.

    Printed for humans, never executed by the harness: the input is model
    output, so every argument is quoted.
    """
    command = " ".join(shlex.quote(part) for part in probe.command)
    encode = suite.encoding.jsonl if probe.mode == "jsonl" else suite.encoding.oneshot
    return f"printf '%s' {shlex.quote(encode(case))} | {command}"
