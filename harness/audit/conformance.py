"""``session.iterate.v1`` conformance in SQL: every rule of ``schemas/session-record.json``
and ``schemas/session-attempt.json``, evaluated by DuckDB on every line in one scan.

Full JSON Schema validation in Python runs at about 1,000 rows a second; this is
the exact fast path. The leaf constraints (required and allowed fields, enums,
bounds, lengths, patterns) are read from the schema files; the structure (which
rule applies when, the ``allOf`` conditionals) is written out below, one rule a
line. ``tests/test_audit_differential.py`` holds it to ``jsonschema`` on
generated valid and invalid rows: same verdict on every row.

How a line is read, and where that differs from ``json.loads``:

* JSON is strict RFC 8259. DuckDB's parser (yyjson) also takes ``NaN``,
  ``Infinity`` and trailing commas; such a line is counted as not JSON (a
  regular expression on the line with its strings blanked finds them).
* A field given twice: the last one counts, as ``json.loads`` does.
* "integer" is a number written without a fraction or exponent, as in
  ``harness.schema_store``; one too large for 64 bits is still an integer
  (and out of range).
* ``format: date-time`` is asserted as ``jsonschema`` does with
  ``rfc3339-validator``: a real calendar date, hours to 23, seconds to 59.

Each violation is a (field, rule) pair: ``$.attempts[*].error`` / ``required``.
A row has a violation at most once per pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from harness.audit.schema_rules import (
    APROPS,
    MACROS,
    PROPS,
    RULES,
    VERSION,
    anchored,
    any_broken,
    attempt_rules,
    describe,
    record_rules,
    sql_list,
    verdict_rules,
    violations,
)
from harness.audit.sql import CHECKS, literal

__all__ = ["MACROS", "RULES", "VERSION", "describe", "scan_query"]

# A line DuckDB's parser takes but RFC 8259 does not: NaN or Infinity (any case,
# as yyjson reads them) where a value starts, the line's start too, or a trailing
# comma. The first test runs on the raw line and can be fooled by a string; the
# second runs only on the lines it found, with every string blanked. Each pattern
# of the first test but ^ starts with a literal, which RE2 finds with memchr: one
# alternation of them costs a log three times the scan.
_NAN: Final = r"[ \t\r]*[-+]?[nNiI][aAnN][nNfF]"
_SUSPECTS: Final = (f":{_NAN}", f",{_NAN}", f"\\[{_NAN}", r",[ \t\r]*[\]}]", f"^{_NAN}")
_LENIENT: Final = "|".join(f"(?:{p})" for p in _SUSPECTS)
_STRINGS: Final = r'"(?:[^"\\]|\\.)*"'


def _fields(names: Sequence[str], prefix: str, source: str) -> str:
    keys, vals, dup = (f"{source}.{n}" for n in ("k", "v", "dup"))
    return ", ".join(f"pa_get({keys}, {vals}, {dup}, {literal(n)}) AS {prefix}{n}" for n in names)


def scan_query(
    source: str, *, since: str | None = None, until: str | None = None, keep_text: bool = False
) -> str:
    """A query over ``source`` (a relation of ``ord``, the line's number among the
    records DuckDB read, and ``j``, its text or NULL when unreadable) giving one
    compact row per line: its state, the fields the audit aggregates, its
    violations, the invariant checks it breaks, and whether its timestamp is in
    the window (a line without a readable timestamp always is). ``keep_text``
    keeps the text of every JSON line that does not say it is a
    session.iterate.v1 row, for a caller that judges those itself."""
    allowed = sql_list(list(PROPS))
    row_checks = [c for c in CHECKS if c.predicate is not None]
    breaches = ", ".join(f"CASE WHEN {c.predicate} THEN {literal(c.name)} END" for c in row_checks)
    any_breach = " OR ".join(f"coalesce(({c.predicate}), false)" for c in row_checks)
    rules = record_rules() + verdict_rules()
    attempts_broken, attempt_violations = attempt_rules()
    window = []
    if since is not None:
        window.append(f"ts >= {literal(since)}::TIMESTAMPTZ")
    if until is not None:
        window.append(f"ts < {literal(until)}::TIMESTAMPTZ")
    in_window = " AND ".join(window) or "true"
    attempt_names = list(APROPS)
    timestamp = literal(anchored(PROPS["timestamp"]["pattern"]))
    attempt_fields = ", ".join(
        f"'{n}': pa_get(t.k, t.v, pa_dup(t.k), {literal(n)})" for n in attempt_names
    )
    return f"""
WITH lines AS (
    SELECT ord, j,
        CASE WHEN j IS NULL THEN 'unreadable'
             WHEN ({" OR ".join(f"regexp_matches(j, {literal(p)})" for p in _SUSPECTS)})
                  AND regexp_matches(regexp_replace(j, {literal(_STRINGS)}, '""', 'g'),
                                     {literal(_LENIENT)}) THEN 'not_json'
             WHEN left(j, 1) = '{{' THEN 'object'
             ELSE 'not_object' END AS kind_of_line
    FROM {source}
),
objects AS (
    SELECT ord, j, kind_of_line,
        CASE WHEN kind_of_line = 'object'
             THEN {{'k': keys, 'v': vals, 'dup': pa_dup(keys)}} END AS o
    FROM (SELECT *, json_keys(CASE WHEN kind_of_line = 'object' THEN j END) AS keys,
                 json_extract(CASE WHEN kind_of_line = 'object' THEN j END, '$.*') AS vals
          FROM lines)
),
fields AS (
    SELECT ord, j, kind_of_line, {_fields(list(PROPS), "x_", "o")},
        CASE WHEN list_has_all({allowed}, o.k) THEN []
             ELSE list_distinct(list_filter(o.k, lambda key: NOT list_contains({allowed}, key)))
        END AS unexpected
    FROM objects
),
decoded AS (
    SELECT *,
        pa_str(x_schema) AS version, pa_str(x_session_id) AS session_id,
        pa_str(x_timestamp) AS s_timestamp, pa_str(x_daemon) AS daemon, pa_str(x_kind) AS kind,
        pa_str(x_model) AS model, pa_str(x_prompt) AS prompt,
        pa_str(x_final_verdict) AS final_verdict, pa_is_int(x_iterations) AS int_iterations,
        pa_is_int(x_max_iterations) AS int_max_iterations,
        pa_is_int(x_duration_ms) AS int_duration_ms
    FROM fields
),
classified AS (
    SELECT *,
        CASE WHEN kind_of_line <> 'object' THEN 'not_row'
             WHEN pa_is_str(x_schema) AND version <> {literal(VERSION)}
                  THEN 'other_version'
             ELSE 'row' END AS state,
        coalesce(final_verdict = 'accepted', false) AS is_accepted,
        coalesce(final_verdict = 'max_iter_exhausted', false) AS is_exhausted,
        coalesce(final_verdict = 'infra_error', false) AS is_infra,
        coalesce(kind = 'fill', false) AS is_fill,
        coalesce(regexp_full_match(s_timestamp, {timestamp}), false)
            AS ts_shaped,
        list_transform(
            list_transform(
                CASE WHEN left(x_attempts, 1) = '[' THEN json_extract(x_attempts, '$[*]') END,
                lambda a: {{'obj': left(a, 1) = '{{', 'k': json_keys(a),
                           'v': json_extract(a, '$.*')}}),
            lambda t: {{'obj': t.obj, 'keys': t.k,
                       {attempt_fields}}})
            AS raw_items
    FROM decoded
),
typed AS (
    SELECT *,
        ts_shaped AND TRY_CAST(substr(s_timestamp, 1, 10) AS DATE) IS NOT NULL
            AND substr(s_timestamp, 1, 4) <> '0000'
            AND TRY_CAST(substr(s_timestamp, 12, 2) AS INTEGER) <= 23
            AND TRY_CAST(substr(s_timestamp, 15, 2) AS INTEGER) <= 59
            AND TRY_CAST(substr(s_timestamp, 18, 2) AS INTEGER) <= 59 AS ts_calendar,
        list_transform(raw_items, lambda a: {{
            'obj': a.obj, 'keys': a.keys, 'iteration': a.iteration, 'verdict_kind': a.verdict_kind,
            'error': a.error, 'span_id': a.span_id, 'vk': pa_str(a.verdict_kind),
            'accepted': a.obj AND coalesce(pa_str(a.verdict_kind) = 'accepted', false),
            'infra': a.obj AND coalesce(pa_str(a.verdict_kind) = 'infra_error', false)}}) AS items,
        -- the record's columns, as sql.CHECKS read them (a mistyped field is NULL;
        -- the strings were decoded in ``decoded``)
        CASE WHEN int_iterations THEN TRY_CAST(CAST(x_iterations AS VARCHAR) AS BIGINT) END
            AS iterations,
        CASE WHEN int_max_iterations
             THEN TRY_CAST(CAST(x_max_iterations AS VARCHAR) AS BIGINT) END AS max_iterations,
        CASE WHEN x_artifact <> 'null' THEN x_artifact END AS artifact,
        CASE x_grounded_in_roster WHEN 'true' THEN true WHEN 'false' THEN false END
            AS grounded_in_roster
    FROM classified
),
sessions AS (
    SELECT *,
        list_transform(items, lambda a: {{
            'iteration': CASE WHEN pa_is_int(a.iteration)
                              THEN TRY_CAST(CAST(a.iteration AS VARCHAR) AS BIGINT) END,
            'verdict_kind': a.vk, 'error': pa_str(a.error)}}) AS attempts,
        CASE WHEN ts_calendar THEN TRY_CAST(s_timestamp AS TIMESTAMPTZ) END AS ts
    FROM typed
)
SELECT ord,
    CASE WHEN kind_of_line IN ('unreadable', 'not_json') THEN kind_of_line
         WHEN kind_of_line = 'not_object' THEN 'row' ELSE state END AS state,
    version, session_id, daemon, kind, model,
    final_verdict, iterations, ts,
    list_transform(attempts, lambda a: a.verdict_kind) AS attempt_kinds,
    CASE WHEN kind_of_line = 'not_object' THEN [pa_v('$', 'type')]
         WHEN state = 'row' AND ({any_broken(rules)} OR len(unexpected) > 0 OR {attempts_broken})
         THEN list_distinct(list_concat(
            {violations(rules)},
            list_transform(unexpected, lambda key: pa_v('$.' || key, 'additionalProperties')),
            coalesce({attempt_violations}, [])))
         WHEN state = 'row' THEN []
    END AS violations,
    CASE WHEN state = 'row' AND ({any_breach})
         THEN list_filter([{breaches}], lambda b: b IS NOT NULL)
         WHEN state = 'row' THEN []
    END AS breaches,
    ts IS NULL OR ({in_window}) AS in_window,
    CASE WHEN {"true" if keep_text else "false"} AND kind_of_line IN ('object', 'not_object')
              AND version IS DISTINCT FROM {literal(VERSION)} THEN j END AS text
FROM sessions
"""
