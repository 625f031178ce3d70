"""``report.json`` read back into the harness's vocabulary: the findings of a
shard's report as ``Finding``s whose examples replay (``parity merge``).
The reverse of ``json_report``; the document is already schema-checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.model import (
    CaseResult,
    Difference,
    DivergenceClass,
    Failure,
    Finding,
    InfraError,
    JsonValue,
    Observation,
    Session,
)
from harness.suites import registry
from harness.suites.produced import ProducedSession


def finding(item: Mapping[str, Any]) -> Finding:
    suite = str(item["suite"])
    failure = Failure(
        suite, DivergenceClass(item["class"]), item["path"], tuple(item["blamed"]), item["message"]
    )
    example = CaseResult(
        suite,
        case(suite, item["input"]),
        {name: observation(raw) for name, raw in item["outputs"].items()},
        differences(item["differences"]),
        (failure,),
    )
    return Finding(
        failure=failure,
        example=example,
        occurrences=int(item["occurrences"]),
        seed=item.get("seed"),
        reproducer=item.get("reproducer"),
    )


def case(suite: str, raw: JsonValue) -> JsonValue:
    """A derived suite's case is a produced session; any other, plain JSON."""
    info = registry.BY_NAME.get(suite)
    if info is not None and info.kind == "derived" and isinstance(raw, dict):
        try:
            return ProducedSession.from_json(raw)
        except ValueError:
            return raw
    return raw


def differences(items: list[Mapping[str, Any]]) -> dict[str, tuple[Difference, ...]]:
    out: dict[str, list[Difference]] = {}
    for item in items:
        diff = Difference(
            DivergenceClass(item["class"]),
            item["path"],
            item.get("expected"),
            item.get("actual"),
            item.get("note", ""),
        )
        out.setdefault(str(item["target"]), []).append(diff)
    return {name: tuple(found) for name, found in out.items()}


def observation(raw: Mapping[str, Any]) -> Observation:
    infra = raw.get("infra")
    session = raw.get("session")
    return Observation(
        raw["target"],
        raw.get("text"),
        status=raw.get("status"),
        infra=(
            InfraError(DivergenceClass(infra["kind"]), infra["message"], infra.get("exit_code"))
            if infra
            else None
        ),
        stderr=raw.get("stderr", ""),
        headers=dict(raw.get("headers", {})),
        session=_session(session) if session else None,
        log=raw.get("log"),
        exit_code=raw.get("exit_code"),
    )


def _session(raw: Mapping[str, Any]) -> Session:
    calls = raw.get("model_calls")
    return Session(
        raw["id"],
        model_calls=tuple(calls) if calls is not None else None,
        minted=bool(raw.get("minted", False)),
        row=raw.get("row"),
        answers=raw.get("answers"),
    )
