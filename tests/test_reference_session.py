"""The session record (CONTRACT §4): serde's rules, builders and the logger."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.jsonmodel import dumps
from reference_impl.session import (
    SessionAttempt,
    SessionContext,
    SessionLogger,
    SessionRecord,
    accepted_record,
    exhausted_record,
    infra_error_record,
    record_from_json,
    roundtrip,
)
from tests.oracle import SerdeOracle
from tests.strategies_json import json_values, literal

FIELDS = [
    "schema",
    "session_id",
    "timestamp",
    "daemon",
    "kind",
    "model",
    "provider",
    "prompt",
    "iterations",
    "max_iterations",
    "final_verdict",
    "attempts",
    "artifact",
    "grounded_in_roster",
    "duration_ms",
]


def base_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema": "session.iterate.v1",
        "session_id": "s-1",
        "timestamp": "2026-05-02T06:24:41Z",
        "daemon": "gateway",
        "kind": "fill",
        "model": "m",
        "provider": "p",
        "prompt": "Café résumé  你好",
        "iterations": 1,
        "max_iterations": 3,
        "final_verdict": "accepted",
        "attempts": [{"iteration": 0, "verdict_kind": "accepted"}],
        "artifact": {"fills": [{"candidate_id": "W-2"}]},
        "grounded_in_roster": True,
        "duration_ms": 12,
    }
    record.update(overrides)
    return record


def test_round_trip_keeps_contract_order_and_drops_unknown_and_null() -> None:
    text = json.dumps(base_record(extra="x", grounded_in_roster=None, artifact={"b": 1, "a": 1.0}))
    out = json.loads(roundtrip(text))
    assert list(out) == [f for f in FIELDS if f != "grounded_in_roster"]
    assert roundtrip(text).count('"artifact":{"a":1.0,"b":1}') == 1


@pytest.mark.parametrize(
    "change",
    [
        {"iterations": 1.0},
        {"iterations": -1},
        {"iterations": 2**32},
        {"attempts": None},
        {"attempts": {}},
        {"prompt": 5},
        {"duration_ms": 2**64},
        {"duration_ms": -0.0},
        {"grounded_in_roster": "yes"},
        {"attempts": [{"iteration": 0}]},
        {"artifact": 1e400},
    ],
)
def test_type_rejects(change: dict[str, Any]) -> None:
    text = (
        literal(base_record(**change))
        if "artifact" not in change
        else (json.dumps(base_record(artifact=None))[:-1] + ', "artifact": 1e400}')
    )
    assert set(json.loads(roundtrip(text))) == {"error"}


def test_missing_and_duplicate_fields_are_errors_but_unknown_ones_are_not_checked() -> None:
    record = base_record()
    del record["attempts"]
    assert "missing field" in roundtrip(json.dumps(record))
    text = json.dumps(base_record())
    assert "duplicate field" in roundtrip(text[:-1] + ', "prompt": "again"}')
    # serde only checks the syntax of a field it ignores
    assert "error" not in json.loads(roundtrip(text[:-1] + ', "zz": [1e400, "\\ud800"]}'))


def test_a_struct_may_be_written_as_a_sequence() -> None:
    seq = [
        "session.iterate.v1",
        "s",
        "t",
        "d",
        "k",
        "m",
        "p",
        "x",
        0,
        1,
        "infra_error",
        [[0, "infra_error", "boom", None]],
        None,
        None,
        5,
    ]
    assert record_from_json(json.dumps(seq)).attempts == (SessionAttempt(0, "infra_error", "boom"),)
    assert "error" in json.loads(roundtrip(json.dumps(seq[:-1])))


RECORDS = st.fixed_dictionaries(
    {
        "schema": st.just("session.iterate.v1"),
        "session_id": st.text(),
        "timestamp": st.text(),
        "daemon": st.sampled_from(["gateway", "validatord"]),
        "kind": st.text(),
        "model": st.text(),
        "provider": st.text(),
        "prompt": st.text(),
        "iterations": st.integers(-1, 2**32),
        "max_iterations": st.integers(0, 2**32 - 1),
        "final_verdict": st.sampled_from(["accepted", "max_iter_exhausted", "infra_error"]),
        "attempts": st.lists(
            st.fixed_dictionaries(
                {"iteration": st.integers(0, 5), "verdict_kind": st.text(max_size=3)},
                optional={"error": st.none() | st.text(), "span_id": st.none() | st.text()},
            )
        ),
        "duration_ms": st.integers(0, 2**64) | st.floats(0, 10),
    },
    optional={
        "artifact": json_values(),
        "grounded_in_roster": st.none() | st.booleans(),
        "unknown": json_values(),
    },
)


@given(RECORDS, st.data())
def test_records_match_serde(
    serde_oracle: SerdeOracle, record: dict[str, Any], data: st.DataObject
) -> None:
    keys = data.draw(st.permutations(list(record)))
    text = literal({key: record[key] for key in keys})
    expected = serde_oracle.ask("record", text)
    actual = roundtrip(text)
    if expected.startswith('{"error"'):
        assert actual.startswith('{"error"')  # messages may differ, the fact may not
    else:
        assert actual == expected


def context(kind: str = "fill", prompt: str = "p") -> SessionContext:
    return SessionContext(
        session_id="t",
        daemon="reference",
        kind=kind,
        model="m",
        provider="p",
        prompt=prompt,
        max_iterations=3,
        timestamp="ts",
    )


def test_builders_cover_the_three_paths() -> None:
    attempts = (SessionAttempt(0, "no_json"), SessionAttempt(1, "accepted"))
    ok = accepted_record(
        context(), attempts=attempts, artifact={"fills": []}, grounded_in_roster=True, duration_ms=1
    )
    assert (ok.iterations, ok.final_verdict, ok.grounded_in_roster) == (2, "accepted", True)
    email = accepted_record(
        context("email"), attempts=attempts, artifact={}, grounded_in_roster=True, duration_ms=1
    )
    assert "grounded_in_roster" not in email.to_dict()
    spent = exhausted_record(context(), attempts=attempts, duration_ms=1)
    assert (spent.iterations, "artifact" in spent.to_dict()) == (3, False)
    infra = infra_error_record(context(prompt="x" * 5000), error="e" * 900, duration_ms=1)
    assert infra.iterations == 0 and len(infra.prompt) == 4000
    assert infra.attempts == (SessionAttempt(0, "infra_error", "e" * 800),)


def test_logger_is_off_for_an_empty_path(tmp_path: Path) -> None:
    logger = SessionLogger("")
    logger.append(infra_error_record(context(), error="x", duration_ms=0))
    assert not logger.enabled and list(tmp_path.iterdir()) == []


def test_logger_creates_folders_lazily_and_never_raises(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "sessions.jsonl"
    logger = SessionLogger(target)
    assert not target.parent.exists()
    logger.append(infra_error_record(context(), error="x", duration_ms=0))
    assert len(target.read_text().splitlines()) == 1
    blocked = tmp_path / "file"
    blocked.write_text("")
    SessionLogger(blocked / "sub" / "log.jsonl").append(
        infra_error_record(context(), error="x", duration_ms=0)
    )  # must not raise


def test_concurrent_appends_leave_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "sessions.jsonl"
    loggers = [SessionLogger(path), SessionLogger(path)]  # two "daemons", one file

    def work(worker: int) -> None:
        logger = loggers[worker % 2]
        for n in range(500):
            logger.append(
                infra_error_record(
                    context(prompt=f"{worker}-{n}-" + "é" * (n % 50)),
                    error="y" * 700,
                    duration_ms=n,
                )
            )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4000
    rows = [record_from_json(line) for line in lines]
    assert len({row.prompt.split("-")[0] + row.prompt.split("-")[1] for row in rows}) == 4000


def test_record_to_json_is_serde_text() -> None:
    record = SessionRecord(
        session_id="s",
        timestamp="t",
        daemon="d",
        kind="k",
        model="m",
        provider="p",
        prompt="<&>\n",
        iterations=0,
        max_iterations=1,
        final_verdict="infra_error",
        attempts=(),
        duration_ms=0,
    )
    assert record.to_json() == dumps(record.to_dict())
    assert '"prompt":"<&>\\n"' in record.to_json()
