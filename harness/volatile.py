"""What two correct runtimes may legitimately write differently (CONTRACT §5),
one table per wire shape. The suites' projections are built from it, and
reports read it to say what a comparison ignored."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

# The shape of an id a runtime mints (a trace id, a span id).
ID_SHAPE: Final = r"[0-9A-Za-z_-]{1,64}"


@dataclass(frozen=True)
class Volatile:
    """``drop``: fields left out of the comparison; ``shape_only``: fields
    compared by their shape (path -> regex), not their value."""

    drop: tuple[str, ...] = ()
    shape_only: Mapping[str, str] = field(default_factory=dict)
    why: str = ""


SESSION_RECORD: Final = Volatile(
    drop=("$.timestamp", "$.daemon", "$.duration_ms"),
    shape_only={"$.attempts[*].span_id": r"(?s).+"},
    why="when and where a row was written, and each attempt's span id, are the runtime's own",
)
# Only when the runtime minted the trace id (no trace header was sent).
MINTED_TRACE: Final = Volatile(
    shape_only={"$.trace_id": ID_SHAPE},
    why="a trace id the runtime minted itself (no trace header sent)",
)
MINTED_SESSION_ID: Final = Volatile(
    shape_only={"$.session_id": ID_SHAPE},
    why="a session id the runtime minted itself (no trace header sent)",
)

TABLE: Final = {
    "session-record": SESSION_RECORD,
    "iterate-response (minted trace id)": MINTED_TRACE,
    "session-record (minted trace id)": MINTED_SESSION_ID,
}


# ---------------------------------------------------------------------------
# Volatile paths a deployment declares (``[volatile]`` in parity.toml), on
# top of the contract's: a real model's token counts, a request id.

_WILD_INDEX: Final = re.compile(r"\\\[\\\*\\\]")
_WILD_KEY: Final = re.compile(r"\\\.\\\*")


@dataclass(frozen=True)
class Declared:
    """One declared volatile path of one suite: generalised (``[*]`` any
    index, ``.*`` any key); a difference at or below it is not compared."""

    suite: str
    path: str
    reason: str

    def covers(self, path: str) -> bool:
        return _pattern(self.path).fullmatch(path) is not None


@functools.lru_cache(maxsize=128)
def _pattern(declared: str) -> re.Pattern[str]:
    body = _WILD_KEY.sub(r"\\.[^.\\[]+", _WILD_INDEX.sub(r"\\[\\d+\\]", re.escape(declared)))
    return re.compile(body + r"(?:[.\[].*)?", re.DOTALL)


@dataclass
class DeclaredUse:
    """What a declared path did in one run: the A/A pairs that varied there
    (a path that never varies is reported as unused) and the differences
    from the reference it hid."""

    declared: Declared
    varied: int = 0
    masked: int = 0

    @property
    def unused(self) -> bool:
        return self.varied == 0

    def to_json(self) -> dict[str, object]:
        return {
            "suite": self.declared.suite,
            "path": self.declared.path,
            "reason": self.declared.reason,
            "varied": self.varied,
            "masked": self.masked,
            "unused": self.unused,
        }
