"""What a live session suite hands to the suites derived from it: one
``ProducedSession`` per checked session (``SessionSuite.produced``), read by
the ``sessions`` suite (and ``traces``) as its case.

In a report or a reproducer it is JSON (``to_json``); read back
(``from_json``), its ``origin`` and ``case`` say where the session can be
replayed (``causes.trigger_for``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model import JsonValue


@dataclass(frozen=True)
class ProducedSession:
    origin: str  # the suite that ran it (iterate, faults)
    case: JsonValue  # its case there: what replays it
    session: str  # the session's id (the prompt's case marker)
    minted: bool  # the runtime minted the trace id (no header sent)
    row: JsonValue  # the row the reference writes
    # What each runtime that answered said: the trace id it echoed, the 502
    # body it sent (a runtime that failed the case is not here).
    answered: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The reference's trace tree (None: the run does not trace) and the
    # collector fault the session's delivery ran under, for ``traces``.
    tree: JsonValue = None
    collector: str | None = None
    # When the session was checked (time.monotonic): a tree is waited for
    # from then on. Not part of the data: a session read back has none.
    ended_at: float = field(default=0.0, compare=False)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "origin": self.origin,
            "case": self.case,
            "session": self.session,
            "minted": self.minted,
            "row": self.row,
            "answered": {name: dict(said) for name, said in self.answered.items()},
            **({"tree": self.tree} if self.tree is not None else {}),
            **({"collector": self.collector} if self.collector is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> ProducedSession:
        """Read back; ``ValueError`` says what is missing or wrong."""
        if not isinstance(data, dict):
            raise ValueError("a produced session is an object")
        for key, kind in (("origin", str), ("session", str)):
            if not isinstance(data.get(key), kind):
                raise ValueError(f"a produced session needs a string {key!r}")
        collector = data.get("collector")
        if collector is not None and not isinstance(collector, str):
            raise ValueError("'collector' names a collector fault")
        answered = data.get("answered") or {}
        if not isinstance(answered, dict) or not all(
            isinstance(v, dict) for v in answered.values()
        ):
            raise ValueError("'answered' maps each runtime to what it said")
        return cls(
            origin=data["origin"],
            case=data.get("case"),
            session=data["session"],
            minted=bool(data.get("minted", False)),
            row=data.get("row"),
            answered={str(k): {str(a): str(b) for a, b in v.items()} for k, v in answered.items()},
            tree=data.get("tree"),
            collector=collector,
        )
