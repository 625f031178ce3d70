"""``audit(logs)``: judge every line into a compact table, then aggregate it.

Per file, two reads run side by side: DuckDB's scan (``conformance.scan_query``,
parallel: state, the fields the parity comparison needs, violations, breached
checks, in file order) and ``load.survey`` (blank lines, line count). A line's
ordinal among the records DuckDB read, with the blank lines the survey found,
gives its line number. Everything after that reads the compact table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import duckdb

from harness.audit import conformance, load
from harness.audit.parity import compare_daemons
from harness.audit.result import (
    EXAMPLES,
    AuditResult,
    Example,
    FileSummary,
    InvariantResult,
    LineCount,
    Violation,
)
from harness.audit.sql import CHECKS, literal
from harness.errors import HarnessError

__all__ = ["LineVerdict", "audit", "verdicts"]

_KEY: Final = "file_id::BIGINT * 1099511627776 + ord"  # orders rows by file, then line
_ROWS: Final = "rows WHERE in_window"
_BATCH: Final = 10_000


class _Scan:
    """One audit's DuckDB session and what it learnt about each file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, logs: Sequence[load.LogFile]) -> None:
        self.con = con
        self.logs = logs
        self.surveys: list[load.Survey] = []

    def example(self, file_id: int, ordinal: int, session_id: str | None = None) -> Example:
        line = self.surveys[file_id].line_of(ordinal)
        return Example(self.logs[file_id].name, line, session_id)

    def examples(self, rows: Sequence[tuple[int, int, str | None]]) -> tuple[Example, ...]:
        return tuple(self.example(f, o, s) for f, o, s in rows)


def _create(con: duckdb.DuckDBPyConnection) -> None:
    for macro in conformance.MACROS:
        con.execute(macro)
    con.execute(
        """CREATE TABLE rows (
            file_id INTEGER, ord BIGINT, state VARCHAR, version VARCHAR, session_id VARCHAR,
            daemon VARCHAR, kind VARCHAR, model VARCHAR, final_verdict VARCHAR,
            iterations BIGINT, ts TIMESTAMPTZ, attempt_kinds VARCHAR[],
            violations STRUCT(field VARCHAR, rule VARCHAR)[], breaches VARCHAR[],
            in_window BOOLEAN, text VARCHAR)"""
    )


def _scan_file(
    scan: _Scan,
    file_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    keep_text: bool = False,
) -> None:
    log = scan.logs[file_id]

    def insert(object_size: int) -> None:
        source = (
            "(SELECT NULL::BIGINT AS ord, json AS j FROM read_json_objects("
            f"{literal(str(log.path))}, format = 'newline_delimited', ignore_errors = true, "
            f"compression = {literal('gzip' if log.compressed else 'none')}, "
            f"maximum_object_size = {object_size}))"
        )
        query = conformance.scan_query(
            source,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            keep_text=keep_text,
        )
        # A table created with insertion order preserved (load.connect) holds the
        # lines in file order, and DuckDB still judges them in parallel: the
        # row id is the line's ordinal among the records read. (A scan WITH
        # ORDINALITY would run on a single thread.)
        scan.con.execute(f"CREATE OR REPLACE TABLE judged AS {query}")
        scan.con.execute(
            f"INSERT INTO rows BY NAME SELECT {file_id} AS file_id, rowid + 1 AS ord, "
            "* EXCLUDE (ord) FROM judged"
        )
        scan.con.execute("DROP TABLE judged")

    # The byte-level survey runs beside DuckDB's scan (which releases the GIL).
    # Only a line longer than the reader's default buffer needs its result first.
    with ThreadPoolExecutor(max_workers=1) as pool:
        surveyed = pool.submit(load.survey, log)
        try:
            try:
                insert(load.DEFAULT_OBJECT_SIZE)
            except duckdb.InvalidInputException as exc:
                if "maximum_object_size" not in str(exc):
                    raise
                insert(load.object_size(surveyed.result()))
        except duckdb.OutOfMemoryException as exc:
            raise HarnessError(_out_of_memory(scan.con, log, surveyed.result(), exc)) from exc
        except duckdb.Error as exc:
            raise load.AuditInputError(f"{log.name}: DuckDB cannot read it: {exc}") from exc
        found = surveyed.result()
    scan.surveys.append(found)
    records, last = scan.con.execute(
        "SELECT count(*), coalesce(max(ord), 0) FROM rows WHERE file_id = ?", [file_id]
    ).fetchone() or (0, 0)
    expected = found.lines - len(found.blank)
    if not records == last == expected:
        raise HarnessError(
            f"{log.name}: DuckDB read {records} records where the file has {expected} "
            "non-blank lines; line numbers would be wrong, so nothing is reported"
        )
    _mark_not_utf8(scan, file_id)


def _out_of_memory(
    con: duckdb.DuckDBPyConnection, log: load.LogFile, found: load.Survey, exc: Exception
) -> str:
    """Which option to raise, and by how much, in one line (DuckDB's own
    advice is about SET statements the user cannot reach)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    limit = row[0] if row else "?"
    longest = f"; its longest line is {found.longest / (1 << 20):.0f} MB" if found.longest else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"{log.name}: DuckDB needs more memory than --memory-limit allows (now {limit}{longest}: "
        f"raise it, e.g. --memory-limit 2GB): {first}"
    )


def _mark_not_utf8(scan: _Scan, file_id: int) -> None:
    ordinals = [
        o
        for (o,) in scan.con.execute(
            "SELECT ord FROM rows WHERE file_id = ? AND state = 'unreadable'", [file_id]
        ).fetchall()
    ]
    if not ordinals:
        return
    found = scan.surveys[file_id]
    by_line = {found.line_of(o): o for o in ordinals}
    bad = load.invalid_utf8(scan.logs[file_id], by_line)
    if bad:
        scan.con.execute(
            "UPDATE rows SET state = 'not_utf8' WHERE file_id = ? AND list_contains(?, ord)",
            [file_id, sorted(by_line[line] for line in bad)],
        )


def _line_count(scan: _Scan, states: str) -> LineCount:
    count, firsts = scan.con.execute(
        f"SELECT count(*), min_by({{'f': file_id, 'o': ord}}, {_KEY}, {EXAMPLES}) "
        f"FROM {_ROWS} AND state IN {states}"
    ).fetchone() or (0, None)
    rows = [(f["f"], f["o"], None) for f in sorted(firsts or [], key=lambda r: (r["f"], r["o"]))]
    return LineCount(int(count), scan.examples(rows))


def _violations(scan: _Scan) -> tuple[Violation, ...]:
    found = scan.con.execute(
        f"""SELECT v.field, v.rule, count(*),
                   min_by({{'f': file_id, 'o': ord, 's': session_id}}, {_KEY}, {EXAMPLES})
            FROM (SELECT file_id, ord, session_id, unnest(violations) AS v FROM {_ROWS}
                  AND state = 'row')
            GROUP BY ALL ORDER BY 3 DESC, 1, 2"""
    ).fetchall()
    return tuple(
        Violation(
            field,
            rule,
            conformance.describe(field, rule),
            int(count),
            scan.examples(_ordered(firsts)),
        )
        for field, rule, count, firsts in found
    )


def _ordered(firsts: list[dict[str, object]] | None) -> list[tuple[int, int, str | None]]:
    rows = [(int(str(r["f"])), int(str(r["o"])), _text(r.get("s"))) for r in firsts or []]
    return sorted(rows)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _invariants(scan: _Scan) -> tuple[InvariantResult, ...]:
    con = scan.con
    row_checks = {
        name: (int(count), firsts)
        for name, count, firsts in con.execute(
            f"""SELECT b, count(*), min_by({{'f': file_id, 'o': ord, 's': session_id}},
                                           {_KEY}, {EXAMPLES})
                FROM (SELECT file_id, ord, session_id, unnest(breaches) AS b FROM sessions)
                GROUP BY b"""
        ).fetchall()
    }
    results: list[InvariantResult] = []
    for check in CHECKS:
        if check.grouped is not None:
            count, firsts = _grouped(con, check.grouped)
        else:
            count, firsts = row_checks.get(check.name, (0, []))
        results.append(
            InvariantResult(check.name, check.description, count, scan.examples(_ordered(firsts)))
        )
    return tuple(results)


def _grouped(
    con: duckdb.DuckDBPyConnection, query: str
) -> tuple[int, list[dict[str, object]] | None]:
    """A whole-log check: how many groups it returns, and each group's first row."""
    count, firsts = con.execute(
        f"""SELECT count(*), min_by({{'f': f, 'o': o, 's': session_id}}, k, {EXAMPLES}) FROM (
                SELECT q.session_id, arg_min(s.file_id, {_KEY}) AS f, arg_min(s.ord, {_KEY}) AS o,
                       min({_KEY}) AS k
                FROM ({query}) AS q JOIN sessions AS s USING (session_id, daemon)
                GROUP BY q.session_id, q.daemon)"""
    ).fetchone() or (0, None)
    return int(count), firsts


def _summary(scan: _Scan, since: datetime | None, until: datetime | None) -> AuditResult:
    con = scan.con
    # The audited rows under the name sql.CHECKS read.
    con.execute(f"CREATE OR REPLACE TEMP VIEW sessions AS SELECT * FROM {_ROWS} AND state = 'row'")
    by_daemon = dict(
        con.execute(
            f"SELECT coalesce(daemon, '(none)'), count(*) FROM {_ROWS} AND state = 'row' "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    )
    invalid = con.execute(f"SELECT count(*) FROM {_ROWS} AND len(violations) > 0").fetchone()
    versions = dict(
        con.execute(
            f"SELECT version, count(*) FROM {_ROWS} AND state = 'other_version' "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    )
    return AuditResult(
        files=tuple(
            FileSummary(log.name, found.lines, len(found.blank))
            for log, found in zip(scan.logs, scan.surveys, strict=True)
        ),
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        rows=sum(by_daemon.values()),
        rows_by_daemon={str(k): int(v) for k, v in by_daemon.items()},
        invalid_rows=int(invalid[0]) if invalid else 0,
        torn=_line_count(scan, "('unreadable', 'not_json')"),
        not_utf8=_line_count(scan, "('not_utf8',)"),
        other_version=_line_count(scan, "('other_version',)"),
        violations=_violations(scan),
        invariants=_invariants(scan),
        parity=compare_daemons(con, "sessions"),
        other_versions={str(k): int(v) for k, v in versions.items()},
    )


def audit(
    patterns: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    settings: load.Settings | None = None,
) -> AuditResult:
    """Audit session logs (files, globs, ``.gz``). Raises ``HarnessError`` for input
    that cannot be read at all, and when nothing in it is a row to audit."""
    if since is not None and until is not None and since >= until:
        raise HarnessError("--since must be before --until")
    logs = load.resolve(patterns)
    con, spill = load.connect(settings or load.Settings())
    with spill, closing(con):
        _create(con)
        scan = _Scan(con, logs)
        for file_id in range(len(logs)):
            _scan_file(scan, file_id, since, until)
        result = _summary(scan, since, until)
    if result.rows == 0 and result.torn.count == 0 and result.not_utf8.count == 0:
        window = " in the window" if since or until else ""
        names = ", ".join(log.name for log in logs)
        raise HarnessError(f"no session rows to audit{window} in {names}")
    return result


@dataclass(frozen=True)
class LineVerdict:
    """One line as the scan judged it. ``state``: ``row`` (a JSON line judged as a
    session.iterate.v1 row), ``torn`` (not JSON), ``not_utf8`` or ``other_version``."""

    line: int
    state: str
    version: str | None
    session_id: str | None
    violations: tuple[tuple[str, str], ...]
    text: str | None  # kept (keep_text) for a JSON line that is not a v1 row


_STATES: Final = {"unreadable": "torn", "not_json": "torn"}


def verdicts(
    path: str,
    *,
    settings: load.Settings | None = None,
    keep_text: bool = False,
    problems_only: bool = False,
    on_count: Callable[[int], None] | None = None,
) -> Iterator[LineVerdict]:
    """Each non-blank line of one log, in order, as the audit's scan judges it
    (memory bounded: rows are fetched in batches). ``on_count`` is told how
    many non-blank lines were judged, before the first verdict."""
    logs = load.resolve([path])
    con, spill = load.connect(settings or load.Settings())
    with spill, closing(con):
        _create(con)
        scan = _Scan(con, logs)
        _scan_file(scan, 0, keep_text=keep_text)
        where = (
            "WHERE state <> 'row' OR len(violations) > 0 OR text IS NOT NULL"
            if problems_only
            else ""
        )
        cursor = con.execute(
            "SELECT ord, state, version, session_id, violations, text "
            f"FROM rows {where} ORDER BY ord"
        )
        found = scan.surveys[0]
        if on_count is not None:
            on_count(found.lines - len(found.blank))
        while batch := cursor.fetchmany(_BATCH):
            for ordinal, state, version, session_id, violations, text in batch:
                yield LineVerdict(
                    found.line_of(ordinal),
                    _STATES.get(state, state),
                    version,
                    session_id,
                    tuple(sorted((v["field"], v["rule"]) for v in violations or [])),
                    text,
                )
