"""Reading session logs: which files, how their lines are numbered, and the
embedded DuckDB that scans them.

DuckDB's newline-delimited JSON reader does the scanning (in parallel, with its
memory bounded by ``memory_limit``), yielding each non-blank line in order, or
NULL for a line it cannot read. Two things it does not say are recovered here by
one streaming pass over the bytes, in fixed-size blocks (never the whole file):

* where the blank lines are (the reader skips them), so that a record's
  ordinal becomes its true line number;
* the longest line, so the reader's ``maximum_object_size`` can be raised to
  fit it instead of failing the whole scan.

Which unreadable lines are not UTF-8 (the reader reports them as NULL like a
torn line) is decided afterwards by :func:`invalid_utf8`, which reads only when
there is something unreadable to explain.
"""

from __future__ import annotations

import bisect
import glob
import gzip
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

from harness.errors import HarnessError, describe_os_error

__all__ = [
    "BLOCK",
    "LogFile",
    "Settings",
    "Survey",
    "connect",
    "invalid_utf8",
    "resolve",
    "survey",
]

BLOCK: Final = 8 << 20
# What DuckDB's JSON reader skips as a blank line: ASCII whitespace only.
_SPACE: Final = b" \t\v\f\r"
_BOM: Final = b"\xef\xbb\xbf"
# a newline followed by a blank line (zero-width, so that blank lines in a row all match)
_BLANK_AFTER: Final = re.compile(rb"\n(?=[ \t\v\f\r]*\n)")
DEFAULT_OBJECT_SIZE: Final = 16 << 20  # DuckDB's default maximum_object_size
MAX_LINE: Final = 512 << 20  # a longer line is refused (exit 2) rather than read into memory


class AuditInputError(HarnessError):
    """A log that cannot be audited at all: missing, unreadable, or a glob matching nothing."""


@dataclass(frozen=True)
class Settings:
    """DuckDB's resources: its memory (a DuckDB size such as ``512MB``) and threads."""

    memory_limit: str = "512MB"
    threads: int = 2

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", self.memory_limit, re.IGNORECASE):
            raise ValueError(
                f"memory_limit must be a size such as 512MB, got {self.memory_limit!r}"
            )


@dataclass(frozen=True)
class LogFile:
    path: Path
    compressed: bool

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class Survey:
    """What one pass over a file's bytes found."""

    lines: int
    blank: tuple[int, ...]  # line numbers (1-based), ascending
    longest: int  # bytes, of the longest line that spans a block boundary (0 if none)

    def line_of(self, ordinal: int) -> int:
        """The line number of the ``ordinal``-th non-blank line (1-based)."""
        line = ordinal
        # Each blank line at or before the candidate line pushes it one further.
        skipped = 0
        while True:
            count = bisect.bisect_right(self.blank, line)
            if count == skipped:
                return line
            line, skipped = ordinal + count, count


def resolve(patterns: Sequence[str]) -> list[LogFile]:
    """Files and globs, in the order given (each glob sorted); ``.gz`` is read
    compressed. A name that exists is that file, even with ``[`` or ``*`` in it."""
    found: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern) and not os.path.lexists(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise AuditInputError(f"{pattern}: no file matches")
            found.extend(files)
        else:
            path = Path(pattern)
            check_log_file(path)
            found.append(path)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [LogFile(path, compressed=path.suffix == ".gz") for path in unique]


def check_log_file(path: Path) -> None:
    """Raise ``AuditInputError`` with the real reason ``path`` cannot be
    audited: missing, a folder, not a regular file (a log is read twice, which
    a pipe cannot be), or not readable."""
    try:
        found = path.stat()
    except FileNotFoundError:
        kind = "a broken symbolic link" if os.path.islink(path) else "no such file"
        raise AuditInputError(f"{path}: {kind}") from None
    except OSError as exc:
        raise AuditInputError(f"{path}: cannot read: {describe_os_error(exc, path)}") from exc
    if stat.S_ISDIR(found.st_mode):
        raise AuditInputError(
            f"{path}: is a folder (name its logs, or a glob such as {path}/*.jsonl)"
        )
    if not stat.S_ISREG(found.st_mode):
        raise AuditInputError(
            f"{path}: not a regular file ({_kind(found.st_mode)}): a log is read twice, "
            "so save it to a file first"
        )
    if not os.access(path, os.R_OK):
        raise AuditInputError(f"{path}: cannot read: permission denied")


def _kind(mode: int) -> str:
    kinds = {
        stat.S_IFIFO: "a pipe (FIFO)",
        stat.S_IFSOCK: "a socket",
        stat.S_IFCHR: "a character device",
        stat.S_IFBLK: "a block device",
    }
    return kinds.get(stat.S_IFMT(mode), "not a file")


def _open(log: LogFile) -> io.BufferedIOBase:
    try:
        if log.compressed:
            return gzip.open(log.path, "rb")
        return log.path.open("rb")
    except OSError as exc:
        raise AuditInputError(
            f"{log.name}: cannot read: {describe_os_error(exc, log.name)}"
        ) from exc


def survey(log: LogFile) -> Survey:
    """Count the lines, find the blank ones and the longest line spanning blocks,
    reading into one reused buffer (no copy of the data, C-level searches only)."""
    found = _Counting()
    buffer = bytearray(BLOCK)
    with _open(log) as stream:
        try:
            while size := stream.readinto(buffer):
                found.block(buffer, size)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise AuditInputError(f"{log.name}: cannot read: {exc}") from exc
    return found.finish()


class _Counting:
    """What ``survey`` knows so far; ``carry`` is the line still open at the block's end."""

    def __init__(self) -> None:
        self.lines = 0
        self.blank: list[int] = []
        self.longest = 0
        self.carry = 0
        self.carry_blank = True
        self.first_block = True

    def _close_line(self, length: int, blank: bool) -> None:
        self.lines += 1
        self.longest = max(self.longest, length)
        if blank:
            self.blank.append(self.lines)

    def block(self, data: bytearray, size: int) -> None:
        # DuckDB's reader skips a UTF-8 byte order mark at the file's start:
        # a first line that holds only one is blank for it, so here too.
        lead = len(_BOM) if self.first_block and data.startswith(_BOM) else 0
        self.first_block = False
        first = data.find(b"\n", 0, size)
        if first == -1:
            self.carry += size
            self.carry_blank = self.carry_blank and not data[lead:size].strip(_SPACE)
            if self.carry > MAX_LINE:
                raise AuditInputError(f"a line longer than {MAX_LINE} bytes")
            return
        blank = self.carry_blank and not data[lead:first].strip(_SPACE)
        self._close_line(self.carry + first, blank)
        last = data.rfind(b"\n", 0, size)
        before = self.lines
        for match in _BLANK_AFTER.finditer(data, first, last + 1):
            self.blank.append(before + data.count(b"\n", first + 1, match.start() + 1) + 1)
        self.lines = before + data.count(b"\n", first + 1, last + 1)
        self.carry = size - last - 1
        self.carry_blank = not data[last + 1 : size].strip(_SPACE)

    def finish(self) -> Survey:
        if self.carry:
            self._close_line(self.carry, self.carry_blank)
        return Survey(lines=self.lines, blank=tuple(self.blank), longest=self.longest)


def object_size(found: Survey) -> int:
    """The reader's ``maximum_object_size`` for a file: room for its longest line."""
    return max(DEFAULT_OBJECT_SIZE, 2 * found.longest)


def invalid_utf8(log: LogFile, candidates: Iterable[int]) -> set[int]:
    """Which of these line numbers are not valid UTF-8: one streaming pass into a
    reused buffer that skips the blocks between candidates by counting newlines."""
    wanted = sorted(set(candidates))
    bad: set[int] = set()
    index = 0
    number = 1  # the line the scan is in
    pending: bytearray | None = None  # a wanted line cut by a block's end
    buffer = bytearray(BLOCK)
    with _open(log) as stream:
        while index < len(wanted) and (size := stream.readinto(buffer)):
            start = 0
            while index < len(wanted):
                if pending is None and number < wanted[index]:
                    ahead = buffer.count(b"\n", start, size)
                    if number + ahead < wanted[index]:
                        number += ahead
                        break
                    while number < wanted[index]:
                        start = buffer.index(b"\n", start, size) + 1
                        number += 1
                end = buffer.find(b"\n", start, size)
                piece = buffer[start : size if end == -1 else end]
                pending = piece if pending is None else pending + piece
                if end == -1:
                    break
                if not _is_utf8(pending):
                    bad.add(number)
                pending = None
                index += 1
                number += 1
                start = end + 1
    if pending is not None and not _is_utf8(pending):
        bad.add(number)
    return bad


def _is_utf8(data: bytes | bytearray) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def connect(
    settings: Settings,
) -> tuple[duckdb.DuckDBPyConnection, tempfile.TemporaryDirectory[str]]:
    """A DuckDB whose memory is capped: its tables live in a database file in a
    temporary folder (removed with the returned handle), so that what does not
    fit in ``memory_limit`` is written there instead of growing the process."""
    spill = tempfile.TemporaryDirectory(prefix="parity-audit-")
    con = duckdb.connect(str(Path(spill.name) / "audit.duckdb"))
    try:
        con.execute(f"SET memory_limit = '{settings.memory_limit}'")
        con.execute(f"SET threads = {settings.threads}")
        con.execute(f"SET temp_directory = '{spill.name}'")
        # Line numbers come from the order in which the judged lines are stored.
        con.execute("SET preserve_insertion_order = true")
    except duckdb.Error as exc:
        con.close()
        spill.cleanup()
        raise HarnessError(f"cannot configure DuckDB: {exc}") from exc
    return con, spill
