"""The traces suite's comparison (CONTRACT §7, docs/decisions.md §9) on
trees written by hand: each linkage rule and each normalisation, and the
report's tree outline (escaped)."""

from __future__ import annotations

import json
from typing import Any

from harness.model import REFERENCE, DivergenceClass, Observation, Session
from harness.reports import trace_view
from harness.suites.traces import compare_trees

T = "t-abc"


def reference_tree(*, minted: bool = False) -> dict[str, Any]:
    events: list[dict[str, Any]] = [
        {"type": "generation", "name": "chat", "trace_id": "x", "parent_id": None,
         "status_message": False, "model": "m", "input": [{"role": "user", "content": "p"}],
         "output": "no"},
        {"type": "span", "name": "iterate.attempt[0]", "trace_id": "x", "parent_id": None,
         "status_message": False, "input": {"iteration": 0, "prompt": "p"},
         "output": {"verdict": "no_json", "raw": "no"}, "level": "WARNING", "iteration": 0},
    ]  # fmt: skip
    return {"trace_id": T, "minted": minted, "events": events}


def runtime_events() -> list[dict[str, Any]]:
    """What a correct runtime sent, as the stand-in stores it."""
    out = []
    for index, event in enumerate(reference_tree()["events"]):
        sent = {k: v for k, v in event.items() if k != "iteration"}
        sent.update(trace_id=T, id=f"o{index}", start_time="2026-01-01T00:00:00.000000Z",
                    end_time="2026-01-01T00:00:01.000000Z")  # fmt: skip
        sent.setdefault("level", "DEFAULT")
        out.append(sent)
    return out


def check(events: list[dict[str, Any]], **sent: Any) -> tuple[Any, ...]:
    answered = sent.pop("answered", {"rust": {"trace_id": T}})
    session = Session("s1", answers=answered, tree=reference_tree())
    reference = Observation(REFERENCE, json.dumps(reference_tree()), session=session)
    answer = {"trace_id": T, "events": events, "others": [], "faulted": False,
              "waited_s": 0.1, "row": {"session_id": T, "spans": [[0, "o1"]]}}  # fmt: skip
    answer.update(sent)
    return compare_trees(reference, Observation("rust", json.dumps(answer)))


def test_a_correct_tree_is_equal() -> None:
    assert check(runtime_events()) == ()


def test_a_tree_that_never_came_is_one_finding_saying_how_long_it_was_awaited() -> None:
    (found,) = check([], trace_id=None)
    assert found.cls is DivergenceClass.MISSING_FIELD and "waited 0.1 s" in (found.note or "")


def test_a_session_split_in_two_trees_is_one_finding_of_the_split_alone() -> None:
    events = runtime_events()
    del events[0]  # its generation went to a trace of its own
    (found,) = check(events, others=["other-trace"])
    assert found.path == "$.trees" and found.actual == 2
    (found,) = check([], trace_id=None, others=["other-trace"])  # nothing under its own id
    assert found.path == "$.trees" and found.actual == 1


def test_a_row_span_id_must_name_the_span_of_its_attempt() -> None:
    (found,) = check(runtime_events(), row={"session_id": T, "spans": [[0, "o0"]]})
    assert found.path == "$.row.attempts[0].span_id" and "'chat'" in str(found.actual)
    (found,) = check(runtime_events(), row={"session_id": T, "spans": [[0, "nowhere"]]})
    assert found.actual == "no span of this tree"


def test_the_row_session_id_is_the_trace_id() -> None:
    (found,) = check(runtime_events(), row={"session_id": "other", "spans": [[0, "o1"]]})
    assert found.path == "$.row.session_id"


def test_a_level_and_an_observation_outside_the_trace_are_findings() -> None:
    events = runtime_events()
    events[1]["level"] = "DEFAULT"
    events[0]["trace_id"] = "elsewhere"
    assert {d.path for d in check(events)} == {"$.events[0].trace_id", "$.events[1].level"}


def test_an_event_that_ends_before_it_starts_is_a_finding() -> None:
    events = runtime_events()
    events[0]["end_time"] = "2025-01-01T00:00:00.000000Z"
    assert [d.path for d in check(events)] == ["$.events[0].end_time"]


def test_a_tree_a_collector_fault_lost_is_not_compared() -> None:
    assert check([], trace_id=None, faulted=True) == ()


def test_a_runtime_that_did_not_answer_the_session_has_nothing_to_join() -> None:
    assert check([], answered={"go": {"trace_id": T}}) == ()


def test_the_outline_indents_observations_under_their_trace_and_escapes() -> None:
    events = runtime_events()
    events[0]["output"] = "<script>alert(1)</script>"
    text = json.dumps({"trace_id": T, "events": events})
    lines = trace_view.outline(text)
    assert lines is not None
    assert lines[0] == (0, f"trace {T} (no trace-create)")
    assert (1, "generation chat [DEFAULT] model=m") in lines
    page = trace_view.to_html(text)
    assert page is not None and "<script>" not in page and "&lt;script&gt;" in page
    assert trace_view.outline("not json") is None
