"""The contract's rules, named: every rule the reference decides has a stable id.

The reference reports the rules a case exercised through a recorder it is
handed: ``hit``, any callable taking a rule id (``set.add`` of a set the
caller owns is the usual one). It defaults to ``ignore``, so that a caller
that does not care pays nothing but a call now and then. A rule is
*exercised* when the reference's answer for the case went through it: the
branch that applies it was taken (an unclosed fence ended the fenced scan,
``1e400`` made a candidate invalid), not merely when the input contains
something that looks like it.

This is the one list of ids. Which suites are meant to exercise which rules
is the harness's business (``harness/coverage.py``); the reference never
imports the harness. docs/decisions.md §8 says why a recorder rather than a
return value.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Final

Hit = Callable[[str], None]
"""A recorder: called with the id of each rule the reference applies."""


def ignore(rule: str) -> None:
    """The recorder that records nothing (the default everywhere)."""


class Rule(StrEnum):
    """A rule id (its value) and one line of the contract or decisions text."""

    text: str

    def __new__(cls, value: str, text: str) -> Rule:
        member = str.__new__(cls, value)
        member._value_ = value
        member.text = text
        return member

    # -- CONTRACT §1: extract_json, fenced candidates -------------------------------
    FENCE_INFO_STRING = (
        "extract.fence.info_string",
        "§1.1 The body starts just after the first newline that follows the fence "
        "(this skips an info string such as `json`).",
    )
    FENCE_NO_NEWLINE = (
        "extract.fence.no_newline",
        "§1.1 If no newline follows the fence, the body starts right after the fence.",
    )
    FENCE_NEWLINE_PAST_CLOSE = (
        "extract.fence.newline_past_close",
        "§1.1 The first newline after the fence ends its info string even when it lies "
        "beyond the next fence.",
    )
    FENCE_TRIMMED_BODY = (
        "extract.fence.trimmed_body",
        "§1.1 The body is collected with surrounding whitespace trimmed (recorded when the "
        "candidate parses).",
    )
    FENCE_UNICODE_TRIM = (
        "extract.fence.unicode_trim",
        "§1.1 Trimming strips Unicode White_Space, as Rust's str::trim: U+00A0, U+3000, "
        "U+0085... around a candidate that only parses so.",
    )
    FENCE_SEPARATOR_KEPT = (
        "extract.fence.separator_kept",
        "§1.1 Trimming keeps U+001C-U+001F: a candidate that would parse once Python's "
        "str.strip() removed them does not.",
    )
    FENCE_UNCLOSED = (
        "extract.fence.unclosed",
        "§1.1 An opening fence with no closing fence ends the fenced scan.",
    )
    FENCE_UNCLOSED_OBJECT = (
        "extract.fence.unclosed_object",
        "§1.1 The text after an unclosed fence is no candidate, even when it holds an object.",
    )
    FENCE_OBJECT = (
        "extract.fence.object",
        "§1.2 The first fenced candidate that parses as a JSON object wins.",
    )
    FENCE_LATER_CANDIDATE = (
        "extract.fence.later_candidate",
        "§1.2 A fenced candidate after one that is not an object wins.",
    )
    FENCE_NOT_OBJECT = (
        "extract.fence.not_object",
        "§1.2 A fenced candidate that parses as JSON but not as an object is passed over.",
    )
    FENCE_INVALID = (
        "extract.fence.invalid",
        "§1.2 A fenced candidate that does not parse is passed over.",
    )
    FENCE_BEFORE_BARE = (
        "extract.fence.before_bare",
        "§1.2-3 A fenced object wins over a bare brace earlier in the text.",
    )
    # -- CONTRACT §1: the brace scan ----------------------------------------------------
    SCAN_OBJECT = (
        "extract.scan.object",
        "§1.3 Otherwise the raw text is scanned: a balanced span that parses as an object wins.",
    )
    SCAN_FIRST_WINS = (
        "extract.scan.first_wins",
        "§1.3 The first balanced object wins over a later one.",
    )
    SCAN_CLEARED = (
        "extract.scan.cleared",
        "§1.3 A balanced span that is not an object clears the start; the scan goes on.",
    )
    SCAN_AFTER_CLEARED = (
        "extract.scan.after_cleared",
        "§1.3 An object found after a balanced span that was not one.",
    )
    SCAN_STRAY_CLOSE = (
        "extract.scan.stray_close",
        "§1.3 After a stray `}` the depth is negative and never returns to zero.",
    )
    SCAN_BRACE_IN_STRING = (
        "extract.scan.brace_in_string",
        "§1.3 Braces inside JSON strings are not special (recorded when a string literal in "
        "the scanned text holds one).",
    )
    SCAN_UNBALANCED = (
        "extract.scan.unbalanced",
        "§1.3 A `{` whose depth never returns to zero yields no candidate.",
    )
    NO_OBJECT = ("extract.no_object", "§1.4 Otherwise: no object.")
    # -- CONTRACT §1: what parses (everywhere the reference reads JSON) ----------------
    JSON_INVALID = (
        "extract.json.invalid",
        "§1 Strict RFC 8259: no comments, trailing commas or other syntax errors.",
    )
    JSON_NAN = ("extract.json.nan", "§1 No NaN or Infinity.")
    JSON_CONTROL_CHAR = (
        "extract.json.control_char",
        "§1 Strict RFC 8259: a raw control character inside a string is an error.",
    )
    STRING_LONE_SURROGATE = (
        "extract.string.lone_surrogate",
        '§1 An escaped lone surrogate ("\\ud800") is an error.',
    )
    STRING_SURROGATE_PAIR = (
        "extract.string.surrogate_pair",
        "§1 An escaped surrogate pair is one character (RFC 8259).",
    )
    DEPTH_AT_LIMIT = (
        "extract.depth.at_limit",
        "§1 127 levels of nesting (the object itself is level one) parse.",
    )
    DEPTH_OVER_LIMIT = (
        "extract.depth.over_limit",
        "§1 More than 127 levels of nesting is an error.",
    )
    OBJECT_DUPLICATE_KEY = (
        "extract.object.duplicate_key",
        "§1 A duplicate key keeps the last value.",
    )
    OBJECT_KEYS_SORTED = (
        "extract.object.keys_sorted",
        "§1 A parsed object keeps its keys in code point order (serde_json's Value is a BTreeMap).",
    )
    NUMBER_BEYOND_I64 = (
        "extract.number.beyond_i64",
        "§1 An integer above i64 that fits in u64 is exact.",
    )
    NUMBER_INTEGER_TO_DOUBLE = (
        "extract.number.integer_to_double",
        "§1 An integer outside i64/u64 becomes an IEEE double.",
    )
    NUMBER_NEGATIVE_ZERO = ("extract.number.negative_zero", "§1 `-0` is the double -0.0.")
    NUMBER_EXPONENT = (
        "extract.number.exponent",
        "§1 A literal with an exponent is a double (`1E2` is 100.0).",
    )
    NUMBER_INTEGRAL_FRACTION = (
        "extract.number.integral_fraction",
        "§1 A literal with a fraction is a double even when its value is integral (`1.0`).",
    )
    NUMBER_EXPONENT_OVERFLOW = (
        "extract.number.exponent_overflow",
        "§1 A number too large for a double (`1e400`) is an error.",
    )
    NUMBER_UNDERFLOW = (
        "extract.number.underflow",
        "§1 A literal below the smallest double is the nearest double, zero.",
    )
    NUMBER_LONG = (
        "extract.number.long",
        "§1 A literal with more than 15 significant digits is the nearest double "
        "(correct rounding, serde_json's float_roundtrip).",
    )
    # -- how values are written (serde_json::to_string) ---------------------------------
    WRITE_FLOAT_EXPONENT = (
        "write.float.exponent",
        "A double outside 1e-5..1e16 is written with an exponent (`1e+16`, `1.5e-7`).",
    )
    WRITE_FLOAT_INTEGRAL = (
        "write.float.integral",
        "An integral double is written with a fraction (`100.0`).",
    )
    WRITE_STRING_UNESCAPED = (
        "write.string.unescaped",
        "Non-ASCII characters and `<>&` are written as themselves (no \\u escapes).",
    )
    # -- CONTRACT §3, decisions §1: /v1/validate, the answer ----------------------------
    VALIDATE_NOT_JSON = (
        "validate.body.not_json",
        "decisions §1 A body that is not JSON is a `schema` error at `$`.",
    )
    VALIDATE_NOT_OBJECT = (
        "validate.body.not_object",
        "decisions §1 A JSON body that is not an object is a `schema` error at `$`.",
    )
    VALIDATE_UNKNOWN_KIND = (
        "validate.kind.unknown",
        "decisions §1 `kind` absent, not a string or unknown is a `schema` error at `kind`.",
    )
    VALIDATE_ABSENT_AS_NULL = (
        "validate.body.absent_as_null",
        "decisions §1 `artifact` and `context` absent are treated as null.",
    )
    VALIDATE_CONTEXT = (
        "validate.context.not_object",
        "decisions §1 A fill or email context that is not an object is a `schema` error.",
    )
    VALIDATE_TARGET_COUNT = (
        "validate.fill.target_count",
        "decisions §1 `context.target_count` must be an integer >= 1.",
    )
    VALIDATE_TARGET_COUNT_FLOAT = (
        "validate.fill.target_count_float",
        "decisions §1 A number with a fraction or exponent (`2.0`) is not an integer.",
    )
    VALIDATE_CONTEXT_FIELD = (
        "validate.fill.context_field",
        "decisions §1 `context.city`, `state`, `role` must be non-empty strings.",
    )
    VALIDATE_ARTIFACT = (
        "validate.artifact.not_object",
        "decisions §1 An artifact that is not an object is a `schema` error.",
    )
    VALIDATE_FILLS_ARRAY = (
        "validate.fill.fills_not_array",
        "decisions §1 `artifact.fills` must be an array.",
    )
    VALIDATE_FILL_OBJECT = (
        "validate.fill.fill_not_object",
        "decisions §1 Each fill must be an object.",
    )
    VALIDATE_CANDIDATE_ID = (
        "validate.fill.candidate_id",
        "decisions §1 Each fill's `candidate_id` must be a non-empty string.",
    )
    VALIDATE_EXTRA_KEYS = (
        "validate.fill.extra_keys",
        "CONTRACT §3 A fill may carry other keys besides `candidate_id`.",
    )
    VALIDATE_COUNT = ("validate.fill.count", "decisions §1 `len(fills)` must be `target_count`.")
    VALIDATE_DUPLICATE = ("validate.fill.duplicate", "decisions §1 No id twice.")
    VALIDATE_PHANTOM = ("validate.fill.phantom", "decisions §1 Every id is in the roster.")
    VALIDATE_CITY = (
        "validate.fill.consistency.city",
        "decisions §1 The worker's city equals the context's.",
    )
    VALIDATE_STATE = (
        "validate.fill.consistency.state",
        "decisions §1 The worker's state equals the context's.",
    )
    VALIDATE_ROLE = (
        "validate.fill.consistency.role",
        "decisions §1 The worker's role equals the context's.",
    )
    VALIDATE_UNAVAILABLE = (
        "validate.fill.unavailable",
        "decisions §1 Each worker is available.",
    )
    VALIDATE_FILL_VALID = (
        "validate.fill.valid",
        "decisions §1 A valid fill is 200 with `checked` the number of fills.",
    )
    VALIDATE_TWO_RULES = (
        "validate.fill.two_rules_broken",
        "decisions §1 One fill that breaks two rules at once is answered by the first.",
    )
    VALIDATE_EMAIL_CONTEXT_ID = (
        "validate.email.context_candidate_id",
        "decisions §1 An email's `context.candidate_id` must be a non-empty string.",
    )
    VALIDATE_EMAIL_FIELD = (
        "validate.email.field",
        "decisions §1 `candidate_id`, `subject`, `body` must be non-empty strings, in order.",
    )
    VALIDATE_SUBJECT_LENGTH = (
        "validate.email.subject_length",
        "decisions §1 A subject longer than 200 characters is a `schema` error.",
    )
    VALIDATE_SUBJECT_AT_LIMIT = (
        "validate.email.subject_at_limit",
        "decisions §1 A subject of exactly 200 characters is valid.",
    )
    VALIDATE_SUBJECT_CHARACTERS = (
        "validate.email.subject_characters",
        "decisions §1 The subject limit counts Unicode scalar values, not bytes.",
    )
    VALIDATE_EMAIL_CONSISTENCY = (
        "validate.email.consistency",
        "decisions §1 The artifact's `candidate_id` equals the context's.",
    )
    VALIDATE_EMAIL_PHANTOM = (
        "validate.email.phantom",
        "decisions §1 The email's candidate is in the roster.",
    )
    VALIDATE_EMAIL_VALID = (
        "validate.email.valid",
        "decisions §1 A valid email is 200 with `checked` 1.",
    )
    VALIDATE_TITLE = (
        "validate.playbook.title",
        "decisions §1 A playbook's `title` must be a non-empty string.",
    )
    VALIDATE_STEPS_ARRAY = (
        "validate.playbook.steps_not_array",
        "decisions §1 `steps` must be an array.",
    )
    VALIDATE_STEPS_COUNT = (
        "validate.playbook.steps_count",
        "decisions §1 `steps` holds 1 to 20 items.",
    )
    VALIDATE_STEP = (
        "validate.playbook.step",
        "decisions §1 Each step must be a non-empty string.",
    )
    VALIDATE_PLAYBOOK_VALID = (
        "validate.playbook.valid",
        "decisions §1 A valid playbook is 200 with `checked` the number of steps.",
    )
    VALIDATE_CONTEXT_NOT_READ = (
        "validate.playbook.context_not_read",
        "decisions §1 A playbook's context is not read, whatever it is.",
    )
    VALIDATE_WHITESPACE = (
        "validate.text.whitespace",
        "decisions §1 A whitespace-only string is non-empty.",
    )
    VALIDATE_EXACT = (
        "validate.compare.exact",
        "decisions §1 Comparisons are exact: no case folding, no trimming.",
    )
    # -- decisions §1: the order of the checks (both broken, the first answers) ------------
    ORDER_CONTEXT_ARTIFACT = (
        "validate.order.context_before_artifact",
        "decisions §1 The context is checked before the artifact.",
    )
    ORDER_SHAPE_COUNT = (
        "validate.order.shape_before_count",
        "decisions §1 All fills are shape-checked before the count.",
    )
    ORDER_COUNT_DUPLICATE = (
        "validate.order.count_before_duplicate",
        "decisions §1 The count is checked before duplicates.",
    )
    ORDER_DUPLICATE_PHANTOM = (
        "validate.order.duplicate_before_phantom",
        "decisions §1 Duplicates are checked before phantom ids.",
    )
    ORDER_PHANTOM_CONSISTENCY = (
        "validate.order.phantom_before_consistency",
        "decisions §1 Phantom ids are checked before the workers' city, state and role.",
    )
    ORDER_CONSISTENCY_FIELDS = (
        "validate.order.consistency_fields",
        "decisions §1 A worker's city, then state, then role.",
    )
    ORDER_FILL_BEFORE_FIELD = (
        "validate.order.fill_before_field",
        "decisions §1 Fills in order: an earlier fill's role before a later fill's city.",
    )
    ORDER_CONSISTENCY_UNAVAILABLE = (
        "validate.order.consistency_before_unavailable",
        "decisions §1 City, state and role are checked before availability.",
    )
    ORDER_EMAIL_FIELDS_LENGTH = (
        "validate.order.email_fields_before_length",
        "decisions §1 The email's fields are checked for presence before the subject's length.",
    )
    ORDER_EMAIL_CONSISTENCY_PHANTOM = (
        "validate.order.email_consistency_before_phantom",
        "decisions §1 An email's candidate must match the context before the roster is read.",
    )
    ORDER_STEPS_COUNT_STEP = (
        "validate.order.steps_count_before_step",
        "decisions §1 The number of steps is checked before each step.",
    )
    # -- CONTRACT §2, decisions §3: /v1/iterate ---------------------------------------
    MAX_ITERATIONS_DEFAULT = (
        "iterate.max_iterations.default",
        "§2 max_iterations absent or null is 3.",
    )
    MAX_ITERATIONS_CLAMPED = (
        "iterate.max_iterations.clamped",
        "§2 max_iterations below 1 counts as 1.",
    )
    SAMPLING_DEFAULT = (
        "iterate.sampling.default",
        "§2 temperature 0.2 and max_tokens 4096 when absent.",
    )
    TEMPERATURE_INTEGER = (
        "iterate.temperature.integer",
        "§2 An integer temperature is sent as a number like any other (`1` as 1.0).",
    )
    SYSTEM_MESSAGE = (
        "iterate.system.message",
        "§2 The optional system message comes before the user message.",
    )
    SYSTEM_EMPTY = (
        "iterate.system.empty",
        "§2 An empty system string is still a system message.",
    )
    TRACE_GIVEN = (
        "iterate.trace.given",
        "§2 A non-empty X-Lakehouse-Trace-Id header is the trace id, echoed as trace_id.",
    )
    TRACE_MINTED = (
        "iterate.trace.minted",
        "§2 Without the header a fresh trace id is minted.",
    )
    TRACE_EMPTY_HEADER = (
        "iterate.trace.empty_header",
        "§2 An empty trace header counts as none: the id is minted.",
    )
    TRACE_HEADER_CASE = (
        "iterate.trace.header_case",
        "§2 The trace header's name is case-insensitive.",
    )
    REPLY_NO_JSON = (
        "iterate.reply.no_json",
        "§2 No object: history gets `no_json`; the next prompt is the original plus the "
        "no-JSON suffix.",
    )
    REPLY_EMPTY = (
        "iterate.reply.empty",
        '§2 The reply text is "" when the content is absent: no object.',
    )
    VALIDATION_FAILED = (
        "iterate.validation.failed",
        "§2 A non-2xx validation is `validation_failed` with the error body as a JSON string; "
        "the next prompt carries it.",
    )
    RETRY_FROM_ORIGINAL = (
        "iterate.retry.from_original",
        "§2 Every retry prompt is built from the original prompt, not the previous one.",
    )
    ACCEPTED_FIRST = (
        "iterate.accepted.first",
        "§2 Accepted on the first attempt: 200, iterations 1.",
    )
    ACCEPTED_AFTER_RETRY = (
        "iterate.accepted.after_retry",
        "§2 Accepted after failed attempts: 200, iterations i+1, the whole history.",
    )
    EXHAUSTED = (
        "iterate.exhausted",
        "§2 After max_iterations attempts without acceptance: 422 "
        "`max iterations reached ({n}) without passing validation`.",
    )
    RAW_TRUNCATED = (
        "iterate.raw.truncated",
        "§2 `raw` in history is the model text cut to its first 2000 characters.",
    )
    RAW_TRUNCATED_NON_ASCII = (
        "iterate.raw.truncated_non_ascii",
        "§2 The 2000-character cut counts Unicode scalar values and never splits a character.",
    )
    ERROR_UNESCAPED = (
        "iterate.error.unescaped",
        "§3 The history's error keeps non-ASCII characters and `<>&` as themselves.",
    )
    HOP_FAILED_FIRST = (
        "iterate.hop.failed_first",
        "§2 A failed chat hop ends the session: 502 `/v1/chat hop failed at iter 0: ...`.",
    )
    HOP_FAILED_LATER = (
        "iterate.hop.failed_later",
        "§2 A chat hop that fails after earlier attempts: 502 at iter i; the row keeps one "
        "infra_error attempt.",
    )
    # -- CONTRACT §4: the session row ---------------------------------------------------
    ROW_ACCEPTED = (
        "session.row.accepted",
        "§4 An accepted session's row: iterations i+1, the artifact.",
    )
    ROW_EXHAUSTED = (
        "session.row.exhausted",
        "§4 An exhausted session's row: iterations the effective max, no artifact.",
    )
    ROW_INFRA_ERROR = (
        "session.row.infra_error",
        "§4 An infra error's row: iterations 0, one attempt {iteration: 0, infra_error, error}.",
    )
    ROW_GROUNDED = (
        "session.row.grounded",
        "§4 `grounded_in_roster` is written for an accepted fill only.",
    )
    PROMPT_TRUNCATED = (
        "session.prompt.truncated",
        "§4 The row's prompt is the original prompt cut to 4000 characters.",
    )
    PROMPT_TRUNCATED_NON_ASCII = (
        "session.prompt.truncated_non_ascii",
        "§4 The 4000-character cut counts Unicode scalar values and never splits a character.",
    )
    # -- CONTRACT §4: the record type ----------------------------------------------------
    RECORD_UNKNOWN_FIELD = ("record.unknown_field", "§4 Unknown fields are dropped.")
    RECORD_UNKNOWN_SYNTAX_ONLY = (
        "record.unknown_field.syntax_only",
        "§4 An unknown field's value is only checked for syntax (1e400 or a lone surrogate "
        "there is no error).",
    )
    RECORD_FIELD_TWICE = ("record.field_twice", "§4 A field given twice is an error.")
    RECORD_MISSING_FIELD = ("record.missing_field", "§4 A required field missing is an error.")
    RECORD_NULL_OPTIONAL = (
        "record.null_optional",
        "§4 An optional field given as null is absent.",
    )
    RECORD_SEQUENCE = (
        "record.sequence",
        "§4 A struct may be written as an array of its fields in declaration order.",
    )
    RECORD_SEQUENCE_LENGTH = (
        "record.sequence_length",
        "§4 A struct written as an array needs every field, no more.",
    )
    RECORD_INTEGER_RANGE = (
        "record.integer.out_of_range",
        "§4 iterations, max_iterations, iteration are 0..2^32-1 and duration_ms 0..2^64-1: "
        "a negative or larger number is a type error.",
    )
    RECORD_INTEGER_FLOAT = (
        "record.integer.float",
        "§4 A float such as 1.0 in an integer field is a type error.",
    )
    RECORD_INTEGER_U64 = (
        "record.integer.u64",
        "§4 duration_ms takes integers beyond 2^32-1, up to 2^64-1.",
    )
    RECORD_TYPE = (
        "record.type",
        "§4 A field of the wrong JSON type (a number for a string...) is an error.",
    )
    RECORD_ATTEMPTS_NOT_ARRAY = (
        "record.attempts.not_array",
        "§4 `attempts` is required and must be an array.",
    )
    RECORD_ARTIFACT_ANY = (
        "record.artifact.any",
        "§4 `artifact` is any JSON value (an array, a string, a number...).",
    )
    RECORD_ARTIFACT_SORTED = (
        "record.artifact.sorted",
        "§4 The artifact is written back with the keys of every object in code point order.",
    )
    RECORD_LONE_SURROGATE = (
        "record.string.lone_surrogate",
        "§1/§4 A lone surrogate in a string field is an error.",
    )
    RECORD_NOT_JSON = ("record.json.invalid", "§4 A record that is not JSON is rejected.")
    RECORD_VALID = (
        "record.valid",
        "§4 A record the type accepts is written back in contract field order, absent "
        "optionals omitted.",
    )
    # -- the faults suite: what the scripted model does on one call -----------------------
    FAULT_HTTP_500 = ("faults.http_500", "§2 A non-2xx (500) from the model is a failed hop: 502.")
    FAULT_HTTP_429 = ("faults.http_429", "§2 A 429 with Retry-After is a failed hop: 502.")
    FAULT_HANG = ("faults.hang", "§2 A model that does not answer in time is a failed hop: 502.")
    FAULT_DROP = ("faults.drop", "§2 A dropped connection is a failed hop: 502.")
    FAULT_NOT_JSON = (
        "faults.not_json",
        "decisions §4 A model body that is not JSON is a failed hop: 502.",
    )
    FAULT_CUT_STREAM = ("faults.cut_stream", "§2 A body cut short is a failed hop: 502.")
    FAULT_MALFORMED_CHUNK = (
        "faults.malformed_chunk",
        "§2 A body broken inside is a failed hop: 502.",
    )
    FAULT_NO_CONTENT = (
        "faults.no_content",
        '§2 A reply without `content` is the text "" (an ordinary attempt).',
    )
    FAULT_NULL_CONTENT = (
        "faults.null_content",
        '§2 A reply whose `content` is null is the text "" (an ordinary attempt).',
    )
    FAULT_SLOW = (
        "faults.slow",
        "§2 A slow reply within the upstream timeout is an ordinary attempt.",
    )
    FAULT_NOT_REACHED = (
        "faults.not_reached",
        "§2 max_iterations ends the session before the failing call.",
    )

    # -- the collector suite: a faulty Langfuse collector is never in the way (§7) --------
    COLLECTOR_DOWN = (
        "collector.down",
        "§7 A collector that is down changes no response, status or row.",
    )
    COLLECTOR_SLOW = (
        "collector.slow",
        "§7 A slow collector changes no response and never delays one.",
    )
    COLLECTOR_500 = (
        "collector.http_500",
        "§7 A collector that answers 500 changes no response, status or row.",
    )
    COLLECTOR_401 = (
        "collector.http_401",
        "§7 A collector that answers 401 changes no response, status or row.",
    )
    COLLECTOR_HEALTHY = (
        "collector.recovered",
        "§7 After a faulty collector, the runtime delivers the next sessions' trees.",
    )
    # -- the traces suite: the live trace tree of a session (§7) --------------------------
    TREE_MINTED = (
        "trace.tree.minted",
        "§7 A minted trace id: the iterate handler sends trace-create before its first hop.",
    )
    TREE_GIVEN = (
        "trace.tree.given",
        "§7 A trace id given by the caller: no trace-create (the caller owns the trace).",
    )
    TREE_SPAN_ACCEPTED = (
        "trace.span.accepted",
        "§7 An accepted attempt's span is at level DEFAULT.",
    )
    TREE_SPAN_WARNING = (
        "trace.span.warning",
        "§7 A no_json or validation_failed attempt's span is at level WARNING, with its error.",
    )
    TREE_HOP_FAILED = (
        "trace.generation.error",
        "§7 A failed chat hop sends its generation at level ERROR with a status message and "
        "no output, and no span.",
    )


RULES: Final[dict[str, str]] = {rule.value: rule.text for rule in Rule}
"""Every rule id and its line of text."""
