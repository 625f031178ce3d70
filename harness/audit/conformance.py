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

from collections.abc import Mapping, Sequence
from typing import Any, Final

from harness import schema_store
from harness.audit.sql import CHECKS, literal

__all__ = ["MACROS", "RULES", "VERSION", "describe", "scan_query"]

VERSION: Final = "session.iterate.v1"
_RECORD: Final[Mapping[str, Any]] = schema_store.load("session-record")
_ATTEMPT: Final[Mapping[str, Any]] = schema_store.load("session-attempt")
_PROPS: Final[Mapping[str, Any]] = _RECORD["properties"]
_APROPS: Final[Mapping[str, Any]] = _ATTEMPT["properties"]
_INFRA_ITEM: Final[Mapping[str, Any]] = _RECORD["allOf"][3]["then"]["properties"]["attempts"][
    "items"
]["properties"]
_INFRA_ERROR: Final[Mapping[str, Any]] = _INFRA_ITEM["error"]
_ERROR_REQUIRED_FOR: Final[list[str]] = _ATTEMPT["allOf"][0]["if"]["properties"]["verdict_kind"][
    "enum"
]
_ATTEMPT_INFRA_MAX: Final[int] = _ATTEMPT["allOf"][1]["then"]["properties"]["error"]["maxLength"]

# What each (field, rule) means, for the report. Fields not listed (an
# unexpected property) fall back to the rule's text.
RULES: Final[dict[str, str]] = {
    "type": "wrong JSON type",
    "required": "missing",
    "additionalProperties": "not a field of the record",
    "const": "wrong constant",
    "enum": "not one of the allowed values",
    "minLength": "too short",
    "maxLength": "too long",
    "minimum": "below the minimum",
    "maximum": "above the maximum",
    "pattern": "does not match the pattern",
    "format": "not an RFC 3339 date-time",
    "minItems": "too few items",
    "maxItems": "too many items",
    "contains": "an accepted row needs exactly one accepted attempt",
    "forbidden": "present where the verdict forbids it",
    "no_accepted_attempt": "an accepted attempt in a max_iter_exhausted row",
    "no_infra_error_attempt": "an infra_error attempt outside an infra_error row",
}


def describe(field: str, rule: str) -> str:
    """``$.iterations`` / ``type`` -> a short sentence for the report."""
    if rule == "type" and field in _TYPE_NAMES:
        return f"not {_TYPE_NAMES[field]}"
    return RULES.get(rule, rule)


_TYPE_NAMES: Final[dict[str, str]] = {
    "$": "a JSON object",
    "$.attempts[*]": "an object",
    "$.attempts": "an array",
    "$.artifact": "an object",
    "$.grounded_in_roster": "a boolean",
    **{f"$.{k}": "a string" for k, v in _PROPS.items() if v.get("type") == "string"},
    **{f"$.{k}": "an integer" for k, v in _PROPS.items() if v.get("type") == "integer"},
    "$.attempts[*].iteration": "an integer",
    "$.attempts[*].error": "a string",
    "$.attempts[*].span_id": "a string",
}

# Small helpers, inlined by DuckDB. ``x`` is always one field's JSON text as
# json_extract returns it (compact, so its first character names its type) or
# NULL when the field is absent.
MACROS: Final[tuple[str, ...]] = (
    # the value of the last occurrence of key ``name`` (json.loads keeps the last)
    "CREATE OR REPLACE TEMP MACRO pa_get(keys, vals, dup, name) AS vals[CASE WHEN dup "
    "THEN len(keys) + 1 - list_position(list_reverse(keys), name) "
    "ELSE list_position(keys, name) END]",
    "CREATE OR REPLACE TEMP MACRO pa_dup(keys) AS len(list_distinct(keys)) <> len(keys)",
    "CREATE OR REPLACE TEMP MACRO pa_is_str(x) AS left(x, 1) = '\"'",
    "CREATE OR REPLACE TEMP MACRO pa_str(x) AS "
    "CASE WHEN left(x, 1) = '\"' THEN json_extract_string(x, '$') END",
    # json_extract writes a double with a fraction or an exponent (1.0, 100.0,
    # 1E400) and an integer, of any size, as digits: the shape is the type.
    "CREATE OR REPLACE TEMP MACRO pa_is_int(x) AS "
    "regexp_full_match(CAST(x AS VARCHAR), '-?[0-9]+')",
    # Integers beyond HUGEINT are out of every range the schema states.
    "CREATE OR REPLACE TEMP MACRO pa_below(x, low) AS "
    "coalesce(TRY_CAST(CAST(x AS VARCHAR) AS HUGEINT) < low, left(x, 1) = '-')",
    "CREATE OR REPLACE TEMP MACRO pa_above(x, high) AS "
    "coalesce(TRY_CAST(CAST(x AS VARCHAR) AS HUGEINT) > high, left(x, 1) <> '-')",
    # a string's JSON text keeps its quotes, so only a number casts
    "CREATE OR REPLACE TEMP MACRO pa_num_eq(x, n) AS TRY_CAST(CAST(x AS VARCHAR) AS DOUBLE) = n",
    "CREATE OR REPLACE TEMP MACRO pa_v(f, r) AS {'field': f, 'rule': r}",
)

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


def _anchored(pattern: str) -> str:
    """``^...$`` -> ``...`` for regexp_full_match (RE2's ``$`` is already end of text)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"expected an anchored pattern, got {pattern!r}")
    return pattern[1:-1]


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(literal(i) for i in items) + "]"


Rule = tuple[str, str, str]  # (SQL condition, field, rule)


def _when(condition: str, field: str, rule: str) -> Rule:
    return (f"coalesce(({condition}), false)", field, rule)


def _any(rules: Sequence[Rule]) -> str:
    """Whether any rule is broken: cheap booleans, so that the rows that break
    nothing (most of them) never build a list."""
    return "(" + " OR ".join(condition for condition, _, _ in rules) + ")"


def _violations(rules: Sequence[Rule]) -> str:
    """The list of violated (field, rule) pairs."""
    each = ", ".join(
        f"CASE WHEN {condition} THEN pa_v({literal(field)}, {literal(rule)}) END"
        for condition, field, rule in rules
    )
    return f"list_filter([{each}], lambda e: e IS NOT NULL)"


def _integer_rules(
    x: str, field: str, spec: Mapping[str, Any], is_int: str | None = None
) -> list[Rule]:
    is_int = is_int or f"pa_is_int({x})"
    return [
        _when(f"{x} IS NOT NULL AND NOT {is_int}", field, "type"),
        _when(f"{is_int} AND pa_below({x}, {spec['minimum']})", field, "minimum"),
        _when(f"{is_int} AND pa_above({x}, {spec['maximum']}::HUGEINT)", field, "maximum"),
    ]


def _string_rule(x: str, field: str) -> Rule:
    return _when(f"{x} IS NOT NULL AND NOT pa_is_str({x})", field, "type")


def _enum_rule(x: str, field: str, values: Sequence[str], decoded: str | None = None) -> Rule:
    decoded = decoded or f"pa_str({x})"
    return _when(
        f"{x} IS NOT NULL AND NOT coalesce({decoded} IN {_tuple(values)}, false)", field, "enum"
    )


def _tuple(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def _record_rules() -> list[Rule]:
    """Rules on the record's own fields (``x_<field>`` is the field's JSON text)."""
    p = _PROPS
    rules = [_when(f"x_{name} IS NULL", f"$.{name}", "required") for name in _RECORD["required"]]
    rules += [
        _when("x_schema IS NOT NULL AND NOT pa_is_str(x_schema)", "$.schema", "const"),
        _string_rule("x_session_id", "$.session_id"),
        _when(
            f"length(session_id) < {p['session_id']['minLength']}",
            "$.session_id",
            "minLength",
        ),
        _string_rule("x_timestamp", "$.timestamp"),
        _when("pa_is_str(x_timestamp) AND NOT ts_shaped", "$.timestamp", "pattern"),
        _when("ts_shaped AND NOT ts_calendar", "$.timestamp", "format"),
        _enum_rule("x_daemon", "$.daemon", p["daemon"]["enum"], "daemon"),
        _enum_rule("x_kind", "$.kind", p["kind"]["enum"], "kind"),
        _string_rule("x_model", "$.model"),
        _string_rule("x_provider", "$.provider"),
        _string_rule("x_prompt", "$.prompt"),
        _when(f"length(prompt) > {p['prompt']['maxLength']}", "$.prompt", "maxLength"),
        *_integer_rules("x_iterations", "$.iterations", p["iterations"], "int_iterations"),
        *_integer_rules(
            "x_max_iterations", "$.max_iterations", p["max_iterations"], "int_max_iterations"
        ),
        _enum_rule(
            "x_final_verdict", "$.final_verdict", p["final_verdict"]["enum"], "final_verdict"
        ),
        _when("x_attempts IS NOT NULL AND left(x_attempts, 1) <> '['", "$.attempts", "type"),
        _when("x_artifact IS NOT NULL AND left(x_artifact, 1) <> '{'", "$.artifact", "type"),
        _when(
            "x_grounded_in_roster IS NOT NULL AND x_grounded_in_roster NOT IN ('true', 'false')",
            "$.grounded_in_roster",
            "type",
        ),
        *_integer_rules("x_duration_ms", "$.duration_ms", p["duration_ms"], "int_duration_ms"),
    ]
    return rules


def _verdict_rules() -> list[Rule]:
    """The record schema's ``allOf``: what each final verdict requires and forbids."""
    return [
        # accepted: an artifact, iterations >= 1, exactly one accepted attempt
        _when("is_accepted AND x_artifact IS NULL", "$.artifact", "required"),
        _when("NOT is_accepted AND x_artifact IS NOT NULL", "$.artifact", "forbidden"),
        _when(
            "is_accepted AND int_iterations AND pa_below(x_iterations, 1)",
            "$.iterations",
            "minimum",
        ),
        _when("is_accepted AND len(items) < 1", "$.attempts", "minItems"),
        _when(
            "is_accepted AND len(list_filter(items, lambda a: a.accepted)) <> 1",
            "$.attempts",
            "contains",
        ),
        # an accepted fill, and only that, says whether it is grounded
        _when(
            "is_accepted AND is_fill AND x_grounded_in_roster IS NULL",
            "$.grounded_in_roster",
            "required",
        ),
        _when(
            "NOT (is_accepted AND is_fill) AND x_grounded_in_roster IS NOT NULL",
            "$.grounded_in_roster",
            "forbidden",
        ),
        # max_iter_exhausted: iterations >= 1, attempts, none accepted
        _when(
            "is_exhausted AND int_iterations AND pa_below(x_iterations, 1)",
            "$.iterations",
            "minimum",
        ),
        _when("is_exhausted AND len(items) < 1", "$.attempts", "minItems"),
        _when(
            "is_exhausted AND len(list_filter(items, lambda a: a.accepted)) > 0",
            "$.attempts[*].verdict_kind",
            "no_accepted_attempt",
        ),
        # infra_error: iterations 0, one attempt {iteration 0, infra_error, error}
        _when(
            "is_infra AND x_iterations IS NOT NULL "
            "AND NOT coalesce(pa_num_eq(x_iterations, 0), false)",
            "$.iterations",
            "const",
        ),
        _when("is_infra AND len(items) < 1", "$.attempts", "minItems"),
        _when("is_infra AND len(items) > 1", "$.attempts", "maxItems"),
        _when(
            "NOT is_infra AND len(list_filter(items, lambda a: a.infra)) > 0",
            "$.attempts[*].verdict_kind",
            "no_infra_error_attempt",
        ),
    ]


def _attempt_rules() -> tuple[str, str]:
    """Whether any attempt (``a``) breaks a rule, and the list of what they
    break; ``is_infra`` is the row's verdict."""
    allowed = _list(list(_APROPS))
    spec = _APROPS["iteration"]
    rules = [
        _when("NOT a.obj", "$.attempts[*]", "type"),
        _when("a.obj AND a.iteration IS NULL", "$.attempts[*].iteration", "required"),
        _when("a.obj AND a.verdict_kind IS NULL", "$.attempts[*].verdict_kind", "required"),
        *_integer_rules("a.iteration", "$.attempts[*].iteration", spec),
        _enum_rule("a.verdict_kind", "$.attempts[*].verdict_kind", _APROPS["verdict_kind"]["enum"]),
        _string_rule("a.error", "$.attempts[*].error"),
        _string_rule("a.span_id", "$.attempts[*].span_id"),
        _when(
            f"length(pa_str(a.span_id)) < {_APROPS['span_id']['minLength']}",
            "$.attempts[*].span_id",
            "minLength",
        ),
        _when(
            f"a.obj AND coalesce(a.vk IN {_tuple(_ERROR_REQUIRED_FOR)}, false) AND a.error IS NULL",
            "$.attempts[*].error",
            "required",
        ),
        _when(
            f"a.obj AND NOT coalesce(a.vk IN {_tuple(_ERROR_REQUIRED_FOR)}, false) "
            "AND a.error IS NOT NULL",
            "$.attempts[*].error",
            "forbidden",
        ),
        _when(
            f"a.infra AND length(pa_str(a.error)) > {_ATTEMPT_INFRA_MAX}",
            "$.attempts[*].error",
            "maxLength",
        ),
        # what an infra_error row asks of its attempt
        _when("is_infra AND a.obj AND a.error IS NULL", "$.attempts[*].error", "required"),
        _when(
            "is_infra AND a.iteration IS NOT NULL "
            "AND NOT coalesce(pa_num_eq(a.iteration, 0), false)",
            "$.attempts[*].iteration",
            "const",
        ),
        _when(
            "is_infra AND a.verdict_kind IS NOT NULL AND NOT a.infra",
            "$.attempts[*].verdict_kind",
            "const",
        ),
        _when(
            f"is_infra AND length(pa_str(a.error)) > {_INFRA_ERROR['maxLength']}",
            "$.attempts[*].error",
            "maxLength",
        ),
        _when(
            f"is_infra AND pa_is_str(a.error) AND NOT regexp_matches(pa_str(a.error), "
            f"{literal(_INFRA_ERROR['pattern'])})",
            "$.attempts[*].error",
            "pattern",
        ),
    ]
    unexpected = (
        f"CASE WHEN list_has_all({allowed}, a.keys) THEN [] ELSE "
        f"list_transform(list_filter(a.keys, lambda key: NOT list_contains({allowed}, key)), "
        "lambda key: pa_v('$.attempts[*].' || key, 'additionalProperties')) END"
    )
    each = f"list_concat({_violations(rules)}, {unexpected})"
    broken = f"{_any(rules)} OR NOT list_has_all({allowed}, a.keys)"
    return (
        f"coalesce(list_bool_or(list_transform(items, lambda a: {broken})), false)",
        f"flatten(list_transform(items, lambda a: {each}))",
    )


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
    allowed = _list(list(_PROPS))
    row_checks = [c for c in CHECKS if c.predicate is not None]
    breaches = ", ".join(f"CASE WHEN {c.predicate} THEN {literal(c.name)} END" for c in row_checks)
    any_breach = " OR ".join(f"coalesce(({c.predicate}), false)" for c in row_checks)
    record_rules = _record_rules() + _verdict_rules()
    attempts_broken, attempt_violations = _attempt_rules()
    window = []
    if since is not None:
        window.append(f"ts >= {literal(since)}::TIMESTAMPTZ")
    if until is not None:
        window.append(f"ts < {literal(until)}::TIMESTAMPTZ")
    in_window = " AND ".join(window) or "true"
    attempt_names = list(_APROPS)
    timestamp = literal(_anchored(_PROPS["timestamp"]["pattern"]))
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
    SELECT ord, j, kind_of_line, {_fields(list(_PROPS), "x_", "o")},
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
         WHEN state = 'row' AND ({_any(record_rules)} OR len(unexpected) > 0 OR {attempts_broken})
         THEN list_distinct(list_concat(
            {_violations(record_rules)},
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
