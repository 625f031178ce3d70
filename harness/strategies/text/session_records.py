"""Session records as text (the session_log suite): valid rows, and every
way serde's type can reject one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

from harness.strategies.text.model_output import CORNER_TOKENS
from harness.strategies.text.tokens import (
    JSON_ALPHABET,
    SPACES,
    STRING_LITERALS,
    UNCORRUPTED,
    deep,
    json_token,
    prose,
    render_tokens,
)

_FIELD_ORDER: Final = (
    "schema", "session_id", "timestamp", "daemon", "kind", "model", "provider", "prompt",
    "iterations", "max_iterations", "final_verdict", "attempts", "artifact",
    "grounded_in_roster", "duration_ms",
)  # fmt: skip
_INT_FIELDS: Final = ("iterations", "max_iterations", "duration_ms")
_BAD_INTS: Final = (
    "-1", "1.0", "-0", "1e0", "2E1", '"1"', "null", "true", "4294967295", "4294967296",
    "18446744073709551615", "18446744073709551616", "1e400",
)  # fmt: skip
_BAD_VALUES: Final = ("null", "5", "[]", "{}", '"\\ud800"', "true", '"x"')


@dataclass(frozen=True)
class _Mutation:
    kind: str  # "drop", "dup", "set", "extra", "sequence"
    field: str
    value: str = ""


# Attempts the record type rejects, and one it reads as a sequence.
_BAD_ATTEMPTS: Final = (
    '[{"iteration": -1}]', "[1]", '"[]"', "{}", '[[0, "no_json", null, null]]',
    '[[0, "accepted"]]',
)  # fmt: skip
# Artifacts that are not objects (any JSON value is one), or empty.
_ARTIFACT_VALUES: Final = ("null", "[1, 2]", '"text"', "1.0", "{}")


def _mutation_groups() -> dict[str, tuple[_Mutation, ...]]:
    """The ways a row is broken or bent, by kind of rule: a kind is one choice
    (so each gets its share however many variants it has), its variant another."""
    return {
        "drop": tuple(_Mutation("drop", f) for f in _FIELD_ORDER),
        "dup": tuple(_Mutation("dup", f) for f in _FIELD_ORDER),
        "bad_int": tuple(_Mutation("set", f, v) for f in _INT_FIELDS for v in _BAD_INTS),
        "bad_value": tuple(_Mutation("set", f, v) for f in _FIELD_ORDER for v in _BAD_VALUES),
        "attempts": tuple(_Mutation("set", "attempts", v) for v in _BAD_ATTEMPTS),
        "artifact": tuple(_Mutation("set", "artifact", v) for v in _ARTIFACT_VALUES),
        "extra": (
            *(_Mutation("extra", "unknown", v) for v in ("1e400", '"\\ud800"', deep(200), "1")),
            _Mutation("extra", "Schema", '"x"'),  # a case-variant of a known field name
        ),
        # The whole record as an array of its fields in declaration order
        # (absent ones null), or one field short.
        "sequence": (_Mutation("sequence", "all"), _Mutation("sequence", "short")),
    }


_MUTATION_GROUPS: Final = _mutation_groups()
# Kinds first (a kind is one draw), then the variant; plainest first.
_MUTATION: Final = st.sampled_from(tuple(_MUTATION_GROUPS)).flatmap(
    lambda kind: st.sampled_from(_MUTATION_GROUPS[kind])
)

_ATTEMPT_KINDS: Final = ("no_json", "validation_failed", "accepted", "infra_error")


_ERROR_TEXT: Final = json.dumps(
    '{"kind":"count","message":"expected 2 fills, got 1","path":"artifact.fills"}'
)
_ATTEMPT: Final = st.tuples(
    st.sampled_from(_ATTEMPT_KINDS),
    st.sampled_from(("", "null", '"boom"', _ERROR_TEXT, '"\\u003c&>"', '""')),
    st.sampled_from(("", *STRING_LITERALS[:8])),
)
_ATTEMPTS: Final = st.lists(_ATTEMPT, max_size=3)


def _attempts(draw: st.DrawFn) -> str:
    items = []
    for index, (kind, error, span) in enumerate(draw(_ATTEMPTS)):
        parts = [f'"iteration": {index}', f'"verdict_kind": "{kind}"']
        if error:
            parts.append(f'"error": {error}')
        if span:
            parts.append(f'"span_id": {span}')
        items.append("{" + ", ".join(parts) + "}")
    return "[" + ", ".join(items) + "]"


_RECORD_BASICS: Final = st.tuples(
    st.sampled_from(("accepted", "max_iter_exhausted", "infra_error")),
    st.sampled_from(('"trace-1"', '"0001f3a2-9b"', '""', '"ü-id"')),
    st.sampled_from(('"gateway"', '"validatord"')),
    st.sampled_from(('"fill"', '"email"', '"playbook"')),
    prose(max_size=20),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
    st.sampled_from((0, 12, 2**53 + 1, 2**64 - 1)),
)


def _artifact(corner: str, tokens: str, space: str) -> str:
    if corner:
        tokens = corner + tokens.translate(UNCORRUPTED)
    return render_tokens(tokens, space=space)


# A row's artifact: JSON tokens as json_object_texts draws them, and in half
# the rows a corner of the number model or of the JSON text first (alone:
# the run's corrupting tokens dropped), each a first-class choice.
_ARTIFACT_CORNER_TOKENS: Final = (
    CORNER_TOKENS["negative_zero"],
    CORNER_TOKENS["beyond_i64"],
    json_token("value", "18446744073709551616"),
    json_token("value", "1e400"),
    CORNER_TOKENS["duplicate_key"],
    CORNER_TOKENS["depth_127"],  # with the record around it, 128 levels
)
_ARTIFACTS: Final = st.builds(
    _artifact,
    st.sampled_from(("",) * len(_ARTIFACT_CORNER_TOKENS) + _ARTIFACT_CORNER_TOKENS),
    st.text(alphabet=JSON_ALPHABET, max_size=8),
    st.sampled_from(SPACES),
)
_RECORD_OPTIONS: Final = st.tuples(
    st.booleans(),
    _ARTIFACTS,
    st.sampled_from(("", "true", "false", "null")),
    # Half the rows are left whole: a rejected row teaches less than a kept one.
    st.one_of(st.just(()), st.lists(_MUTATION, min_size=1, max_size=2)),
    st.booleans(),
)


@st.composite
def session_record_texts(draw: st.DrawFn) -> str:
    """One record as a single line of JSON text: a well-formed row, then up to
    three mutations (a field dropped, given twice, of the wrong type...)."""
    verdict, session, daemon, kind, prompt, ascii_only, n, limit, ms = draw(_RECORD_BASICS)
    fields: dict[str, str] = {
        "schema": '"session.iterate.v1"',
        "session_id": session,
        "timestamp": '"2026-05-02T06:24:41Z"',
        "daemon": daemon,
        "kind": kind,
        "model": '"kimi-k2.6"',
        "provider": '"ollama_cloud"',
        "prompt": json.dumps(prompt, ensure_ascii=ascii_only),
        "iterations": str(n),
        "max_iterations": str(limit),
        "final_verdict": f'"{verdict}"',
        "attempts": _attempts(draw),
        "duration_ms": str(ms),
    }
    with_artifact, artifact, grounded, mutations, shuffle = draw(_RECORD_OPTIONS)
    if verdict == "accepted" or with_artifact:
        fields["artifact"] = artifact
    if grounded:
        fields["grounded_in_roster"] = grounded
    items: list[tuple[str, str]] = [(f, fields[f]) for f in _FIELD_ORDER if f in fields]
    sequence = ""
    for mutation in mutations:
        if mutation.kind == "sequence":
            sequence = mutation.field
        else:
            items = _mutate(items, mutation)
    if sequence:
        text = _as_sequence(items, short=sequence == "short")
    else:
        if shuffle:
            items = items[1::2] + items[0::2]  # a fixed reorder: serde reads any order
        text = "{" + ", ".join(f'"{name}": {value}' for name, value in items) + "}"
    return text.replace("\n", " ")  # one record per line in jsonl mode


def _as_sequence(items: list[tuple[str, str]], *, short: bool) -> str:
    """The record as serde's derived visit_seq reads a struct: every field in
    declaration order, absent ones null (the first value of a field given
    twice; unknown fields have no place), or one field short."""
    values = dict(reversed(items))
    fields = [values.get(name, "null") for name in _FIELD_ORDER]
    return "[" + ", ".join(fields[:-1] if short else fields) + "]"


def _mutate(items: list[tuple[str, str]], mutation: _Mutation) -> list[tuple[str, str]]:
    if mutation.kind == "drop":
        return [(f, v) for f, v in items if f != mutation.field]
    if mutation.kind == "dup":
        return items + [(f, v) for f, v in items if f == mutation.field][:1]
    if mutation.kind == "set":
        present = any(f == mutation.field for f, _ in items)
        if not present:
            return [*items, (mutation.field, mutation.value)]
        return [(f, mutation.value if f == mutation.field else v) for f, v in items]
    return [*items, (mutation.field, mutation.value)]
