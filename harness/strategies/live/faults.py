"""Fault scenarios: a /v1/iterate session whose model fails on one call."""

from __future__ import annotations

import json
from typing import Any, Final

from hypothesis import strategies as st

from harness.strategies.live.artifacts import MISSING
from harness.strategies.live.scenarios import TASK_GROUPS, scenario

# A fault, then what the model says if it is asked again.
_FAULTS: Final[st.SearchStrategy[Any]] = st.sampled_from(
    (
        {"fault": "http_500"}, {"fault": "http_500"}, {"fault": "drop"}, {"fault": "drop"},
        {"fault": "not_json"}, {"fault": "not_json"}, {"fault": "hang"}, {"fault": "no_content"},
        {"text": None}, "slow", {"fault": "http_429", "retry_after_s": 1},
        {"fault": "cut_stream"}, {"fault": "malformed_chunk"},
    )
)  # fmt: skip
# Mostly reach the fault: "reach" is max_iterations just past the calls before it.
_FAULT_MAX_ITERATIONS: Final = st.sampled_from((MISSING, "reach", 5, "reach", 0, None))


@st.composite
def fault_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A session whose model fails on one call: HTTP 500 or 429, a hang past
    the daemon's upstream timeout, a dropped connection, a body that is not
    JSON, cut short or broken inside (each a 502 and an ``infra_error`` row),
    or a reply without content, a null content or a slow answer (each an
    ordinary attempt)."""
    drawn = draw(draw(TASK_GROUPS))
    task = drawn.task
    replies = draw(drawn.before_fault)
    before = len(replies)
    fault = draw(_FAULTS)
    valid = json.dumps(task.valid())
    if fault == "slow":
        replies.append({"text": valid, "delay_s": 0.05})
    else:
        replies.extend([dict(fault), valid])
    max_iterations = draw(_FAULT_MAX_ITERATIONS)
    if max_iterations == "reach":
        max_iterations = before + 1
    return scenario(draw, "f", task, replies, max_iterations, task.context)
