"""The session log's invariants (CONTRACT §4, docs/decisions.md §3) as DuckDB SQL.

Each check is written against one relation, ``sessions``, with the session
record's own column names, so the same text runs in ``parity sessions audit``
and in anyone's DuckDB session::

    import duckdb
    from harness.audit import sql

    con = duckdb.connect()
    con.execute(sql.sessions_view(["sessions.jsonl"]))
    for check in sql.CHECKS:
        print(check.name, con.sql(check.query).fetchall())

A row check is a predicate over one row: a row breaks it when the predicate is
true. The audit evaluates the predicates while it scans the log (one pass), and
the duplicate check afterwards on what the scan kept. Every comparison is
written NULL-safe, so a missing or mistyped field counts as a breach rather than
vanishing from the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reference_impl.session import INFRA_ERROR_LIMIT, PROMPT_LIMIT

__all__ = ["CHECKS", "COLUMNS", "Check", "literal", "script", "sessions_view"]


@dataclass(frozen=True)
class Check:
    """One named invariant: ``predicate`` (a row check) or ``grouped`` (a whole-log query)."""

    name: str
    description: str
    predicate: str | None = None
    grouped: str | None = None

    @property
    def query(self) -> str:
        """The check as a query over ``sessions``: one result row per breach."""
        if self.grouped is not None:
            return self.grouped
        return f"SELECT session_id, daemon FROM sessions WHERE {self.predicate}"


CHECKS: Final[tuple[Check, ...]] = (
    Check(
        "accepted_has_artifact_and_ends_accepted",
        "final_verdict accepted => an artifact, and the last attempt is accepted",
        predicate="""final_verdict = 'accepted'
            AND (artifact IS NULL OR attempts[-1].verdict_kind IS DISTINCT FROM 'accepted')""",
    ),
    Check(
        "exhausted_used_every_iteration",
        "final_verdict max_iter_exhausted => iterations = max_iterations = len(attempts), "
        "no artifact",
        predicate="""final_verdict = 'max_iter_exhausted'
            AND (iterations IS DISTINCT FROM max_iterations
                 OR len(attempts) IS DISTINCT FROM iterations
                 OR artifact IS NOT NULL)""",
    ),
    Check(
        "infra_error_is_one_attempt",
        "final_verdict infra_error => iterations = 0 and exactly one attempt, an infra_error",
        predicate="""final_verdict = 'infra_error'
            AND (iterations IS DISTINCT FROM 0
                 OR len(attempts) IS DISTINCT FROM 1
                 OR attempts[1].verdict_kind IS DISTINCT FROM 'infra_error')""",
    ),
    Check(
        "grounded_only_on_accepted_fill",
        "grounded_in_roster is written on every accepted fill and on nothing else",
        predicate="""(grounded_in_roster IS NOT NULL)
            <> (final_verdict IS NOT DISTINCT FROM 'accepted'
                AND kind IS NOT DISTINCT FROM 'fill')""",
    ),
    Check(
        "attempt_iterations_in_order",
        "the attempts' iteration fields are 0, 1, ..., n-1 in order",
        predicate="""list_transform(attempts, lambda a: a.iteration)
            IS DISTINCT FROM range(coalesce(len(attempts), 0))""",
    ),
    Check(
        f"prompt_at_most_{PROMPT_LIMIT}",
        f"the prompt is cut to at most {PROMPT_LIMIT} characters",
        predicate=f"length(prompt) > {PROMPT_LIMIT}",
    ),
    Check(
        f"infra_error_text_at_most_{INFRA_ERROR_LIMIT}",
        f"an infra_error attempt's error text is cut to at most {INFRA_ERROR_LIMIT} characters",
        predicate=f"""len(list_filter(attempts,
            lambda a: a.verdict_kind = 'infra_error' AND length(a.error) > {INFRA_ERROR_LIMIT}))
            > 0""",
    ),
    Check(
        "one_row_per_session_per_daemon",
        "each daemon writes exactly one row per session id",
        grouped="""SELECT session_id, daemon, count(*) AS rows FROM sessions
            WHERE session_id IS NOT NULL
            GROUP BY session_id, daemon HAVING count(*) > 1""",
    ),
    Check(
        "alarm_ungrounded_accepted_fill",
        "the alarm query: accepted fills with grounded_in_roster = false (must return nothing)",
        predicate="""final_verdict = 'accepted' AND kind = 'fill'
            AND grounded_in_roster = false""",
    ),
)

# The session record's columns as the checks read them (CONTRACT §4). Integers
# are BIGINT: the contract caps them at 2^32-1, and a value the type cannot hold
# is the schema's business, not the invariants'.
COLUMNS: Final[dict[str, str]] = {
    "schema": "VARCHAR",
    "session_id": "VARCHAR",
    "timestamp": "VARCHAR",
    "daemon": "VARCHAR",
    "kind": "VARCHAR",
    "model": "VARCHAR",
    "provider": "VARCHAR",
    "prompt": "VARCHAR",
    "iterations": "BIGINT",
    "max_iterations": "BIGINT",
    "final_verdict": "VARCHAR",
    "attempts": "STRUCT(iteration BIGINT, verdict_kind VARCHAR, error VARCHAR, span_id VARCHAR)[]",
    "artifact": "JSON",
    "grounded_in_roster": "BOOLEAN",
    "duration_ms": "UBIGINT",
}


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sessions_view(paths: Sequence[str], *, name: str = "sessions") -> str:
    """``CREATE VIEW sessions`` over session logs (files, globs, ``.gz``) for a plain DuckDB.

    Lines DuckDB cannot read as a record are skipped here (``ignore_errors``);
    ``parity sessions audit`` counts them instead.
    """
    if not paths:
        raise ValueError("sessions_view needs at least one path")
    files = "[" + ", ".join(literal(p) for p in paths) + "]"
    columns = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in COLUMNS.items()) + "}"
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_json({files}, "
        f"format = 'newline_delimited', ignore_errors = true, columns = {columns}) "
        "WHERE schema = 'session.iterate.v1'"
    )


def script(paths: Sequence[str]) -> str:
    """The view and every check as one SQL script, for the ``duckdb`` shell."""
    parts = [sessions_view(paths) + ";"]
    for check in CHECKS:
        parts.append(f"-- {check.name}: {check.description}\n{check.query};")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":  # python -m harness.audit.sql LOG... | duckdb
    import sys

    sys.stdout.write(script(sys.argv[1:] or ["sessions.jsonl"]))
