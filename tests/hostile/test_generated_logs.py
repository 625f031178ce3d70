"""Generated session logs for ``parity sessions audit`` and ``parity schema
check``: rows of the contract, rows changed anywhere, torn lines, bytes that
are not UTF-8, blank lines, deep and odd JSON. No traceback ever; a line that
cannot be read is never passed; exit 2 only with one line naming the file;
the log is never changed."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness import schema_store
from tests.hostile.support import (
    HOSTILE_SLOW,
    Snapshot,
    hostile_text,
    invoke,
    json_values,
    refused,
    session_rows,
)

GOOD = [t for t in session_rows() if not schema_store.errors("session-record", json.loads(t))]
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    data: bytes
    kind: str  # good, unreadable (torn or not UTF-8), blank, other (anything else)


def _changed(row: str, key: str, value: Any) -> Line:
    document = json.loads(row)
    document[key] = value
    return Line(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"), "other")


def lines() -> st.SearchStrategy[Line]:
    good = st.sampled_from(GOOD)
    keys = sorted({key for row in GOOD for key in json.loads(row)} | {"extra"})
    return st.one_of(
        good.map(lambda r: Line(r.encode(), "good")),
        st.builds(_changed, good, st.sampled_from(keys), json_values()),
        st.builds(
            lambda r, n: Line(r.encode()[: max(1, n % len(r))], "unreadable"), good, st.integers(0)
        ),
        st.builds(
            lambda r, b: Line(r.encode()[:-2] + b + b'"}', "unreadable"),
            good,
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]),
        ),
        st.text(" \t\r", max_size=3).map(lambda s: Line(s.encode(), "blank")),
        json_values().map(lambda v: Line(json.dumps(v).encode(), "other")),
        hostile_text().map(lambda s: Line(s.replace("\n", " ").encode(), "other")),
        st.integers(1, 3000).map(lambda n: Line(b"[" * n + b"]" * n, "other")),
        st.sampled_from(
            [b"1e400", b"-0", b'{"a":1e999}', b"NaN", b"-inf", b"\x00", b"{}", _BOM, _BOM + b"{}"]
        ).map(lambda b: Line(b, "other")),
    )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is no JSON (RFC 8259)")


def _kind(line: Line) -> str:
    """What a line is, by its bytes (a row cut short may be blank, a changed
    row may be torn or not UTF-8); only a contract row is taken as drawn."""
    if line.kind == "good":
        return line.kind
    if not line.data.strip(b" \t\r\v\f"):
        return "blank"
    try:
        json.loads(line.data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        return "unreadable"
    except ValueError:
        return "unreadable"
    except RecursionError:
        return "other"
    return "other"


@dataclass(frozen=True)
class Log:
    lines: list[Line]
    ending: bytes

    @property
    def data(self) -> bytes:
        return b"\n".join(line.data for line in self.lines) + self.ending

    def numbers(self, kind: str) -> list[int]:
        return [n for n, line in enumerate(self.read(), start=1) if _kind(line) == kind]

    def read(self) -> list[Line]:
        """The lines as a reader sees them: a byte order mark may open the file."""
        if not self.lines or not self.lines[0].data.startswith(_BOM):
            return self.lines
        first = self.lines[0]
        return [Line(first.data[len(_BOM) :], "other"), *self.lines[1:]]


logs = st.builds(Log, st.lists(lines(), max_size=12), st.sampled_from([b"\n", b"", b"\r\n"]))


def _checked(log: Log, command: list[str]) -> tuple[Any, Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "sessions.jsonl"
        path.write_bytes(log.data)
        before = Snapshot.of(root)
        done = invoke([*command, "sessions.jsonl"], root)
        before.assert_unchanged(root)
        return done, path


def _common(done: Any, log: Log) -> None:
    assert "Traceback" not in done.output, done.output
    assert done.exit_code in (0, 1, 2), done.output
    if done.exit_code == 2:
        line = refused(done, "sessions.jsonl")
        nothing = not log.numbers("good") and not log.numbers("other")
        assert nothing or "no session rows" in line, line  # never for what it can read


@HOSTILE_SLOW
@given(logs)
def test_schema_check_judges_every_line_and_passes_none_it_cannot_read(log: Log) -> None:
    done, _ = _checked(log, ["schema", "check"])
    _common(done, log)
    unreadable = log.numbers("unreadable")
    for number in unreadable:
        assert f"sessions.jsonl:{number}: " in done.stdout, done.stdout
    if unreadable:
        assert done.exit_code == 1
    elif done.exit_code != 2 and all(_kind(line) in ("good", "blank") for line in log.read()):
        assert done.exit_code == 0, done.stdout
    reported = {int(line.split(":")[1]) for line in done.stdout.splitlines()[:-1]}
    blank = set(log.numbers("blank"))
    assert not reported & blank and all(1 <= n <= len(log.lines) for n in reported)


@HOSTILE_SLOW
@given(logs)
def test_sessions_audit_counts_what_it_cannot_read(log: Log) -> None:
    done, _ = _checked(log, ["sessions", "audit", "--json"])
    _common(done, log)
    if done.exit_code == 2:
        return
    result = json.loads(done.stdout)
    unreadable = log.numbers("unreadable")
    assert result["torn"]["count"] + result["not_utf8"]["count"] == len(unreadable)
    if unreadable:
        assert done.exit_code == 1
