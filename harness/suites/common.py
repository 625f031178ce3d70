"""Comparison helpers every suite shares: infrastructure failures, bodies
that are not JSON, schema violations and the structural comparison itself."""

from __future__ import annotations

import re
from typing import Final

from harness import compare, schema_store
from harness.model import Difference, DivergenceClass, JsonValue, Observation

JSON_TYPE: Final = "application/json"
# docs/decisions.md §3: the 502 body; what follows the prefix is implementation-defined.
HOP_FAILED: Final = re.compile(r"/v1/chat hop failed at iter (\d+): ")
PLAIN_TYPE: Final = "text/plain"


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


def probe_answer(observation: Observation) -> JsonValue | tuple[Difference, ...]:
    """The parsed answer of a probe, or why there is none to compare."""
    infra = infra_differences(observation)
    if infra is not None:
        return infra
    answer = parsed_or_difference(
        observation.text, cls=DivergenceClass.PROTOCOL, note="output is not one JSON value"
    )
    return (answer,) if isinstance(answer, Difference) else answer


def compare_answers(
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


# -- HTTP bodies


def schema_list(name: str, value: JsonValue) -> list[Difference]:
    return list(schema_differences(name, value))


def parsed_body(text: str | None) -> JsonValue | Difference:
    return parsed_or_difference(text, cls=DivergenceClass.SCHEMA, note="the body is not JSON")


def content_type_differences(observation: Observation, wanted: str) -> list[Difference]:
    got = observation.headers.get("content-type", "")
    if got.split(";")[0].strip().lower() == wanted:
        return []
    return [
        Difference(
            DivergenceClass.VALUE,
            "$<content-type>",
            expected=wanted,
            actual=got or None,
            note="Content-Type of the response",
        )
    ]


def status_differences(reference: Observation, target: Observation) -> list[Difference]:
    if reference.status == target.status or reference.status is None or target.status is None:
        return []
    return [compare.status_difference(reference.status, target.status)]
