"""The rules of ``schemas/session-record.json`` and
``schemas/session-attempt.json`` as SQL conditions over one line's fields: the
leaf constraints (required and allowed fields, enums, bounds, lengths,
patterns) read from the schema files, the structure (which rule applies when,
the ``allOf`` conditionals) written out one rule a line; the DuckDB macros
they use, and what each (field, rule) pair means in a report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from harness import schema_store
from harness.audit.sql import literal

VERSION: Final = "session.iterate.v1"
_RECORD: Final[Mapping[str, Any]] = schema_store.load("session-record")
_ATTEMPT: Final[Mapping[str, Any]] = schema_store.load("session-attempt")
PROPS: Final[Mapping[str, Any]] = _RECORD["properties"]
APROPS: Final[Mapping[str, Any]] = _ATTEMPT["properties"]
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
    **{f"$.{k}": "a string" for k, v in PROPS.items() if v.get("type") == "string"},
    **{f"$.{k}": "an integer" for k, v in PROPS.items() if v.get("type") == "integer"},
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


def anchored(pattern: str) -> str:
    """``^...$`` -> ``...`` for regexp_full_match (RE2's ``$`` is already end of text)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"expected an anchored pattern, got {pattern!r}")
    return pattern[1:-1]


def sql_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(literal(i) for i in items) + "]"


Rule = tuple[str, str, str]  # (SQL condition, field, rule)


def _when(condition: str, field: str, rule: str) -> Rule:
    return (f"coalesce(({condition}), false)", field, rule)


def any_broken(rules: Sequence[Rule]) -> str:
    """Whether any rule is broken: cheap booleans, so that the rows that break
    nothing (most of them) never build a list."""
    return "(" + " OR ".join(condition for condition, _, _ in rules) + ")"


def violations(rules: Sequence[Rule]) -> str:
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


def record_rules() -> list[Rule]:
    """Rules on the record's own fields (``x_<field>`` is the field's JSON text)."""
    p = PROPS
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


def verdict_rules() -> list[Rule]:
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


def attempt_rules() -> tuple[str, str]:
    """Whether any attempt (``a``) breaks a rule, and the list of what they
    break; ``is_infra`` is the row's verdict."""
    allowed = sql_list(list(APROPS))
    spec = APROPS["iteration"]
    rules = [
        _when("NOT a.obj", "$.attempts[*]", "type"),
        _when("a.obj AND a.iteration IS NULL", "$.attempts[*].iteration", "required"),
        _when("a.obj AND a.verdict_kind IS NULL", "$.attempts[*].verdict_kind", "required"),
        *_integer_rules("a.iteration", "$.attempts[*].iteration", spec),
        _enum_rule("a.verdict_kind", "$.attempts[*].verdict_kind", APROPS["verdict_kind"]["enum"]),
        _string_rule("a.error", "$.attempts[*].error"),
        _string_rule("a.span_id", "$.attempts[*].span_id"),
        _when(
            f"length(pa_str(a.span_id)) < {APROPS['span_id']['minLength']}",
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
    each = f"list_concat({violations(rules)}, {unexpected})"
    broken = f"{any_broken(rules)} OR NOT list_has_all({allowed}, a.keys)"
    return (
        f"coalesce(list_bool_or(list_transform(items, lambda a: {broken})), false)",
        f"flatten(list_transform(items, lambda a: {each}))",
    )
