"""The live trace tree of one ``/v1/iterate`` session (CONTRACT §7), as the
runtimes must send it to Langfuse: the reference's expected tree.

A tree is the ordered list of its events, each normalised to what §7
compares: ``type`` (``trace``, ``generation``, ``span``), ``name``,
``trace_id``, ``parent_id``, ``input``, ``output``, ``level``, ``model``,
``model_parameters`` and whether a ``status_message`` is there. What §7 makes
volatile is not here at all: envelope and observation ids, times (checked
only for ``start <= end`` by the comparison). A key left out means the field
must be absent.

Linkage is not volatile: every event's ``trace_id`` is the session's trace
id T; a span's ``iteration`` says which row attempt must carry its id.
``minted``: T is the runtime's own (no header was sent), so the comparison
checks its shape and that the response, the row and the tree agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reference_impl.iterate import IterateOutcome, IterateRequest
from reference_impl.jsonmodel import JsonValue
from reference_impl.rules import Hit, Rule, ignore

Event = dict[str, JsonValue]

VERDICT_LEVEL: Final = {"accepted": "DEFAULT"}  # any other verdict: WARNING
HOP_FAILED: Final = "ERROR"


@dataclass(frozen=True)
class Tree:
    trace_id: str
    minted: bool
    events: tuple[Event, ...]

    def to_json(self) -> dict[str, JsonValue]:
        return {"trace_id": self.trace_id, "minted": self.minted, "events": list(self.events)}


def expected_tree(
    request: IterateRequest, outcome: IterateOutcome, *, trace_id: str, minted: bool
) -> Tree:
    """The events of the session ``outcome`` ran, in the order they are sent."""
    events: list[Event] = []
    if minted:
        events.append(_event("trace", "iterate", trace_id, input={
            "kind": request.kind, "prompt": request.prompt,
        }))  # fmt: skip
    for index, chat in enumerate(outcome.chat_bodies):
        failed = index >= len(outcome.replies)
        events.append(_generation(chat, trace_id, None if failed else outcome.replies[index]))
        if failed:
            break  # a failed hop has no span, and ends the session
        events.append(_span(request, chat, outcome.history[index], trace_id))
    return Tree(trace_id, minted, tuple(events))


def _event(kind: str, name: str, trace_id: str, **fields: JsonValue) -> Event:
    base: Event = {"type": kind, "name": name, "trace_id": trace_id, "parent_id": None}
    return {**base, "status_message": False, **fields}


def _generation(chat: dict[str, JsonValue], trace_id: str, reply: str | None) -> Event:
    event = _event(
        "generation",
        "chat",
        trace_id,
        model=chat["model"],
        model_parameters={"temperature": chat["temperature"], "max_tokens": chat["max_tokens"]},
        input=chat["messages"],
        status_message=reply is None,
    )
    if reply is None:
        event["level"] = HOP_FAILED
    else:
        event["output"] = reply
    return event


def _span(
    request: IterateRequest, chat: dict[str, JsonValue], attempt: JsonValue, trace_id: str
) -> Event:
    assert isinstance(attempt, dict)
    status = attempt["status"]
    assert isinstance(status, dict)
    iteration = attempt["iteration"]
    messages = chat["messages"]
    assert isinstance(messages, list) and isinstance(messages[-1], dict)
    output: dict[str, JsonValue] = {"verdict": status["kind"], "raw": attempt["raw"]}
    if "error" in status:
        output["error"] = status["error"]
    return _event(
        "span",
        f"iterate.attempt[{iteration}]",
        trace_id,
        input={
            "iteration": iteration,
            "model": request.model,
            "provider": request.provider,
            "prompt": messages[-1]["content"],
        },
        output=output,
        level=VERDICT_LEVEL.get(str(status["kind"]), "WARNING"),
        iteration=iteration,
    )


def note_tree(tree: Tree, hit: Hit = ignore) -> None:
    """The §7 rules ``tree`` shows."""
    hit(Rule.TREE_MINTED if tree.minted else Rule.TREE_GIVEN)
    for event in tree.events:
        level = event.get("level")
        if event["type"] == "span":
            hit(Rule.TREE_SPAN_ACCEPTED if level == "DEFAULT" else Rule.TREE_SPAN_WARNING)
        elif level == HOP_FAILED:
            hit(Rule.TREE_HOP_FAILED)


def tree_from_json(data: dict[str, JsonValue]) -> Tree:
    events = data.get("events")
    return Tree(
        str(data.get("trace_id")),
        bool(data.get("minted")),
        tuple(e for e in events if isinstance(e, dict)) if isinstance(events, list) else (),
    )


SPAN_PLACEHOLDER: Final = "<span of this attempt>"


def stamp_spans(row: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """The row as a runtime with tracing on writes it: each attempt that has a
    span (every one but an ``infra_error`` attempt) carries a ``span_id``
    (§5: compared by shape in the row, by what it names in the tree)."""
    attempts = row.get("attempts")
    if not isinstance(attempts, list):
        return row
    stamped: list[JsonValue] = [
        {**attempt, "span_id": SPAN_PLACEHOLDER}
        if isinstance(attempt, dict) and attempt.get("verdict_kind") != "infra_error"
        else attempt
        for attempt in attempts
    ]
    return {**row, "attempts": stamped}
