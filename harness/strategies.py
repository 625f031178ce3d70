"""Hypothesis strategies for the contract's corners, importable by users.

    from harness.strategies import model_outputs, session_record_texts

Everything here produces *text*, as a model or a log writer would write it, so
number spellings (``1E2``, ``-0``, ``1e400``), escapes (``\\ud800``), duplicate
keys and nesting depth reach the runtimes exactly as generated.

Speed matters (a run checks thousands of cases a second), and Hypothesis pays
per choice. So a JSON value is drawn as one short *token string*: each
character names an action (open an object, a number at the edge of the
model, a lone-surrogate string, ...), and ``render_tokens`` turns any token
string into JSON text that is well-formed unless a corrupting token says
otherwise. Shrinking a token string removes actions, so a minimal example is
still a small readable JSON text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

__all__ = [
    "NUMBER_LITERALS",
    "STRING_LITERALS",
    "fault_scenarios",
    "iterate_scenarios",
    "json_object_texts",
    "json_texts",
    "model_outputs",
    "prose",
    "render_tokens",
    "session_record_texts",
    "validate_requests",
]

NUMBER_LITERALS: Final = (
    "0", "1", "-1", "100", "1.0", "-0", "-0.0", "0.0", "1E2", "1e2", "1e+2", "1E-2", "2.5",
    "9223372036854775807", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "12345678901234567890",
    "123456789012345678901234567890", "9007199254740993", "1e400", "-1e400", "1e-400",
    "5e-324", "1.7976931348623157e308", "2.2250738585072014e-308", "0.1",
    "0.30000000000000004", "0.1000000000000000055511151231257827", "1e16", "1e21",
    "1e-7", "1.5e-07", "3.141592653589793238462643383279", "4.35", "1e15", "123.456",
    # exactly halfway between two doubles: only a correctly rounding parser
    # (serde_json's float_roundtrip) picks the even one
    "9007199254740993.0", "1.00000000000000011102230246251565404236316680908203125",
    "9007199254740995.0", "2.2250738585072011e-308", "1.7976931348623158e308",
)  # fmt: skip

STRING_LITERALS: Final = (
    '""', '"a"', '"W-1"', '"W-2"', '"Toledo"', '"Café résumé  你好"', '"naïve"', '"😀"',
    '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc00"', '"x\\uD800y"', '"\\u00e9"', '"\\u003c"',
    '"\\u0000"', '"\\u2028"', '"line\\nbreak"', '"tab\\t"', '"q\\"uote"', '"back\\\\slash"',
    '"\\/"', '"<script>alert(1)</script>"', '"a & b"', '"it\'s"', '"{"', '"}"', '"{}"',
    '"```"', '"e\u0301"', '"\u202eevil"', '"\u00a0"', '"\u2028"', '"\\b\\f\\r"',
)  # fmt: skip

KEYS: Final = ('"a"', '"b"', '"fills"', '"candidate_id"', '"é"', '"A"', '"😀"', '"a b"', '"<k>"')

DEPTHS: Final = (124, 125, 126, 127, 128)


@dataclass(frozen=True)
class _Token:
    action: str  # "open_obj", "open_arr", "close", "value", "dup", "raw"
    text: str = ""


def _alphabet(tokens: Sequence[_Token]) -> tuple[dict[str, _Token], str]:
    # Private-use code points name the tokens; lower ones shrink first, so
    # the plainest actions come first in the list.
    table = {chr(0xE000 + i): token for i, token in enumerate(tokens)}
    return table, "".join(table)


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


_JSON_TOKENS: Final = (
    _Token("value", "1"),
    _Token("value", '"a"'),
    _Token("open_obj"),
    _Token("close"),
    _Token("open_arr"),
    _Token("value", "true"),
    _Token("value", "null"),
    _Token("dup"),
    *(_Token("value", n) for n in NUMBER_LITERALS),
    *(_Token("value", s) for s in STRING_LITERALS),
    *(_Token("value", _deep(d - 1)) for d in DEPTHS),  # inside an object: total depth d
    _Token("raw", ","),
    _Token("raw", "NaN"),
    _Token("raw", "}"),
    _Token("raw", "{"),
    _Token("raw", "// c"),
)
_JSON_TABLE, _JSON_ALPHABET = _alphabet(_JSON_TOKENS)


@dataclass
class _Frame:
    is_object: bool
    members: int = 0
    last_key: str = '"a"'


def render_tokens(tokens: str, *, space: str = " ", top_object: bool = True) -> str:
    """JSON text from a token string (see the module docstring)."""
    out: list[str] = []
    stack: list[_Frame] = []
    if top_object:
        out.append("{")
        stack.append(_Frame(is_object=True))
    for char in tokens:
        token = _JSON_TABLE.get(char)
        if token is None:
            continue
        _apply(token, out, stack, space)
    while stack:
        out.append("}" if stack.pop().is_object else "]")
    return "".join(out) or "null"


def _apply(token: _Token, out: list[str], stack: list[_Frame], space: str) -> None:
    if token.action == "raw":
        out.append(token.text)
        return
    if token.action == "close":
        if len(stack) > 1:
            out.append("}" if stack.pop().is_object else "]")
        return
    frame = stack[-1] if stack else None
    if frame is not None:
        if frame.members:
            out.append("," + space)
        if frame.is_object:
            key = frame.last_key if token.action == "dup" else KEYS[frame.members % len(KEYS)]
            frame.last_key = key
            out.append(f"{key}:{space}")
        frame.members += 1
    if token.action == "open_obj":
        out.append("{")
        stack.append(_Frame(is_object=True))
    elif token.action == "open_arr":
        out.append("[")
        stack.append(_Frame(is_object=False))
    elif token.action == "dup":
        out.append("2")
    else:
        out.append(token.text)


_SPACES: Final = ("", " ", "\n  ", "\t")


def json_texts(*, max_tokens: int = 12, top_object: bool = False) -> st.SearchStrategy[str]:
    """JSON values as text, mostly valid, with the contract's edge cases."""
    return st.builds(
        lambda tokens, space: render_tokens(tokens, space=space, top_object=top_object),
        st.text(alphabet=_JSON_ALPHABET, max_size=max_tokens),
        st.sampled_from(_SPACES),
    )


def json_object_texts(*, max_tokens: int = 12) -> st.SearchStrategy[str]:
    """JSON objects as text (duplicate keys, deep nesting, edge numbers...)."""
    return json_texts(max_tokens=max_tokens, top_object=True)


_PROSE_ALPHABET: Final = (
    "abcdefghij klmnopqrstuvwxyz ABCXYZ 0123456789 .,:;!?-_()\n"
    "<>&'\"\\/éñü你好😀\u00a0\u001c\u001f\u0085\u2028\u3000\t\r\ufeff\u202e{}[]`"
)


def prose(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Free text around the JSON: words, HTML, unicode, odd white space, stray braces."""
    return st.text(alphabet=_PROSE_ALPHABET, max_size=max_size)


_INFOS: Final = ("json", "", "JSON", " json ", "js on", "{", "python")
_AFTER_FENCE: Final = ("\n", "", "\r\n", " ")
_PADS: Final = ("", " ", "\n", "\u00a0", "\u001c", "\u3000", "\t")
_CLOSES: Final = ("\n```", "```", "", "\n``", "\n```\n")

# How the pieces are laid out: each answers a question the contract settles.
_LAYOUTS: Final = (
    "bare",  # prose {obj} prose
    "fenced",  # ```info\n obj ```
    "fenced_then_bare",
    "bare_then_fenced",  # fenced wins even when later
    "two_objects",  # the first balanced one wins
    "stray_close_first",  # } {obj}: the depth never returns to zero
    "fenced_array_then_bare",
    "unclosed_fence",
    "prose_only",
    "value_only",  # a top-level array or scalar
)


# Strategies are built once: constructing (and validating) them on every draw
# costs far more than drawing from them.
_PROSE: Final = prose()
_OBJECT: Final = json_object_texts()
_VALUE: Final = json_texts()
_LAYOUT: Final = st.sampled_from(_LAYOUTS)
_FENCE_PARTS: Final = st.tuples(
    st.sampled_from(_INFOS),
    st.sampled_from(_AFTER_FENCE),
    st.sampled_from(_PADS),
    st.sampled_from(_CLOSES),
)


@st.composite
def _laid_out(draw: st.DrawFn) -> str:
    """One of the layouts above: each settles a question of CONTRACT §1."""
    layout = draw(_LAYOUT)
    before, after = draw(_PROSE), draw(_PROSE)
    first = draw(_OBJECT)
    if layout == "bare":
        return before + first + after
    if layout == "prose_only":
        return before + after
    if layout == "value_only":
        return before + draw(_VALUE) + after
    if layout == "stray_close_first":
        return before + "}" + first + after
    fence = _fence(draw, first)
    second = draw(_OBJECT)
    return {
        "fenced": before + fence + after,
        "fenced_then_bare": before + fence + after + second,
        "bare_then_fenced": before + second + after + fence,
        "two_objects": before + first + after + second,
        "fenced_array_then_bare": before + _fence(draw, draw(_VALUE)) + after + second,
        "unclosed_fence": before + "```json\n" + first + after,
    }[layout]


def _fence(draw: st.DrawFn, body: str) -> str:
    info, newline, pad, close = draw(_FENCE_PARTS)
    return f"```{info}{newline}{pad}{body}{pad}{close}"


# A whole answer as ONE token string: prose fragments, fence pieces and JSON
# tokens share an alphabet, and each run of JSON tokens renders as an object.
# One Hypothesis choice per case instead of a dozen keeps generation several
# times faster; the layouts above keep the well-formed shapes frequent.
_PROSE_FRAGMENTS: Final = (
    *_PROSE_ALPHABET,
    "Here is the JSON:\n", "Sure! ", " Done.", "<b>ok</b>", "&amp; ", "Café résumé  你好",
    *(f"```{info}{newline}" for info in _INFOS for newline in _AFTER_FENCE),
    *(close for close in _CLOSES if close),
    "[1, 2]", "[{}]", "null", '"{"',
)  # fmt: skip
_PROSE_TABLE: Final = {chr(0xE400 + i): text for i, text in enumerate(_PROSE_FRAGMENTS)}
_SEGMENT_BREAK: Final = chr(0xE3FF)  # ends a JSON run: two objects side by side
_SEGMENT_ALPHABET: Final = _JSON_ALPHABET + _SEGMENT_BREAK + "".join(_PROSE_TABLE)


def render_segments(tokens: str) -> str:
    """Model output from a token string of prose, fence and JSON tokens."""
    out: list[str] = []
    run: list[str] = []
    for char in tokens:
        if char in _JSON_TABLE:
            run.append(char)
            continue
        if run:
            out.append(render_tokens("".join(run)))
            run.clear()
        out.append(_PROSE_TABLE.get(char, ""))
    if run:
        out.append(render_tokens("".join(run)))
    return "".join(out)


_SEGMENTED: Final = st.text(alphabet=_SEGMENT_ALPHABET, min_size=1, max_size=40).map(
    render_segments
)
_MODEL_OUTPUTS: Final = st.one_of(_SEGMENTED, _SEGMENTED, _laid_out())


def model_outputs() -> st.SearchStrategy[str]:
    """What a model might answer: prose, objects, fences, stray braces, arrays."""
    return _MODEL_OUTPUTS


# ---------------------------------------------------------------------------
# Session records as text: valid rows, and every way serde's type can reject one.

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
    kind: str  # "drop", "dup", "set", "extra"
    field: str
    value: str = ""


def _mutations() -> tuple[_Mutation, ...]:
    out = [_Mutation("drop", f) for f in _FIELD_ORDER]
    out += [_Mutation("dup", f) for f in _FIELD_ORDER]
    out += [_Mutation("set", f, v) for f in _INT_FIELDS for v in _BAD_INTS]
    out += [_Mutation("set", f, v) for f in _FIELD_ORDER for v in _BAD_VALUES]
    out += [_Mutation("set", "attempts", v) for v in ('[{"iteration": -1}]', "[1]", '"[]"')]
    out += [_Mutation("set", "artifact", v) for v in ("null", "[1, 2]", '"text"', "1.0", "{}")]
    out += [_Mutation("extra", "unknown", v) for v in ("1e400", '"\\ud800"', _deep(200), "1")]
    out += [_Mutation("extra", "Schema", '"x"')]  # a case-variant of a known field name
    return tuple(out)


_MUTATION_TABLE: Final = {chr(0xE000 + i): m for i, m in enumerate(_mutations())}
_MUTATION_ALPHABET: Final = "".join(_MUTATION_TABLE)

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
_RECORD_OPTIONS: Final = st.tuples(
    st.booleans(),
    json_object_texts(max_tokens=8),
    st.sampled_from(("", "true", "false", "null")),
    # Half the rows are left whole: a rejected row teaches less than a kept one.
    st.one_of(st.just(""), st.text(alphabet=_MUTATION_ALPHABET, min_size=1, max_size=2)),
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
    for char in mutations:
        items = _mutate(items, _MUTATION_TABLE[char])
    if shuffle:
        items = items[1::2] + items[0::2]  # a fixed reorder: serde reads any order
    text = "{" + ", ".join(f'"{name}": {value}' for name, value in items) + "}"
    return text.replace("\n", " ")  # one record per line in jsonl mode


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


# ---------------------------------------------------------------------------
# Live cases: /v1/validate requests and /v1/iterate scenarios.
#
# They are written against the fixture roster (fixtures/roster.jsonl): the
# workers below are its facts, so that generated fills are often valid, and
# invalid in one named way when not. Against another roster the same cases
# still run; they are simply rejected more often.
#
# Every case is plain JSON (reproducers store it). A scenario carries its
# model replies as script entries (``harness.mock_llm.Reply.from_json``) and a
# case ``id`` derived from its content; the suite gives each *execution* its
# own session id and prompt marker, so a case can run any number of times.

# (city, state, role) -> the available workers that match, in roster order.
FILL_CONTEXTS: Final = (
    (("Toledo", "OH", "Welder"), ("W-2", "W-3", "W-10")),
    (("Columbus", "OH", "Forklift Operator"), ("W-7", "W-8")),
    (("Louisville", "KY", "Welder"), ("W-1",)),
    (("Louisville", "KY", "Forklift Operator"), ("W-12",)),
    (("Louisville", "KY", "Electrician"), ("W-9",)),
    (("Toledo", "OH", "Electrician"), ("W-4",)),
)
ROSTER_IDS: Final = tuple(f"W-{i}" for i in range(1, 13))
AVAILABLE_IDS: Final = ("W-1", "W-2", "W-3", "W-4", "W-6", "W-7", "W-8", "W-9", "W-10", "W-12")
# For each way a fill can be wrong, a worker that is wrong that way for the
# Toledo/OH/Welder context (the others get a phantom or a duplicate instead).
_WRONG_FOR_TOLEDO_WELDER: Final = {
    "city": "W-1",  # Louisville
    "state": "W-6",  # MI
    "role": "W-4",  # Electrician
    "unavailable": "W-5",
}
_MISSING: Final = object()  # a field left out


def _case_id(prefix: str, case: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(case, sort_keys=True).encode(), digest_size=5)
    return prefix + digest.hexdigest()


def _put(obj: dict[str, Any], key: str, value: object) -> None:
    if value is not _MISSING:
        obj[key] = value


# -- /v1/validate ------------------------------------------------------------------

_COUNTS: Final = ("n", "n", "n", "n", 1, 2, 3, 0, -1, 2.0, "2", None, _MISSING, True, 2**64)
_CONTEXT_CHANGES: Final = (
    None, None, None, None, "drop:city", "empty:city", "lower:city", "space:city", "int:state",
    "drop:role", "empty:role", "context:null", "context:array", "context:string",
)  # fmt: skip
_FILL_ENTRIES: Final = (
    "m0", "m1", "m2", "m0", "m1", *ROSTER_IDS, "W-99", "w-2", " W-2", "W-2 ", "", "W-1\u0000",
    "int", "null", "not-object", "no-id", "extra-keys", "W-é",
)  # fmt: skip
_ARTIFACT_CHANGES: Final = (
    None, None, None, None, None, "artifact:null", "artifact:array", "artifact:missing",
    "fills:missing", "fills:object", "fills:string", "fills:null",
)  # fmt: skip
_BAD_KINDS: Final = ("Fill", "", None, 5, _MISSING, "fills", "playbook ", ["fill"])
_NOT_JSON_BODIES: Final = (
    "", " ", "not json", "{", '{"kind": "fill"', "[]", "null", '"fill"', "1", "true",
    '{"kind": "fill"}x', "NaN", "\ufeff{}", "{'kind': 'fill'}", '{"kind": "fill",}',
    '{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"]}} {}',
)  # fmt: skip
_SUBJECTS: Final = (
    "Shift offer", "Shift offer", "", "a" * 200, "a" * 201, "é" * 200, "😀" * 201, "<b>&</b>",
    _MISSING, 5, "e\u0301" * 100, "x" * 199 + "😀",
)  # fmt: skip
_EMAIL_IDS: Final = (*ROSTER_IDS, "W-99", "", 5, _MISSING, None, "w-1")
_STEP_COUNTS: Final = (1, 2, 3, 3, 0, 20, 21)
_STEP_ITEMS: Final = ("step", "step", "", 5, None, "😀 weld", "<script>", " ", ["x"])
_TITLES: Final = ("Weld check", "Weld check", "", _MISSING, 5, "<Admin> & Co", "é" * 300)
_LAYOUT_OPTIONS: Final = st.tuples(
    st.booleans(),  # ensure_ascii
    st.sampled_from(((",", ":"), (", ", ": "), (",\n", ":\t"))),
    st.sampled_from((None, None, None, "extra", "dup-kind", "artifact-first")),
)


def _fill_body(draw: st.DrawFn) -> dict[str, Any]:
    ctx_index, count, change, entries, artifact_change = draw(_FILL_PARTS)
    (city, state, role), matching = FILL_CONTEXTS[ctx_index]
    fills: list[Any] = []
    for entry in entries:
        if entry in ("m0", "m1", "m2"):
            index = int(entry[1])
            fills.append({"candidate_id": matching[index] if index < len(matching) else "W-99"})
        elif entry == "int":
            fills.append({"candidate_id": 5})
        elif entry == "null":
            fills.append({"candidate_id": None})
        elif entry == "not-object":
            fills.append(matching[0])
        elif entry == "no-id":
            fills.append({"name": "Ada"})
        elif entry == "extra-keys":
            fills.append({"candidate_id": matching[0], "note": "<&>", "rate": 1.0})
        else:
            fills.append({"candidate_id": entry})
    context: Any = {"city": city, "state": state, "role": role}
    _put(context, "target_count", len(fills) if count == "n" else count)
    if change is not None:
        what, field = change.split(":")
        if what == "drop":
            context.pop(field)
        elif what == "empty":
            context[field] = ""
        elif what == "lower":
            context[field] = context[field].lower()
        elif what == "space":
            context[field] = context[field] + " "
        elif what == "int":
            context[field] = 5
        else:
            context = {"null": None, "array": [context], "string": city}[field]
    artifact: Any = {"fills": fills}
    if artifact_change is not None:
        what, how = artifact_change.split(":")
        if what == "artifact":
            artifact = {"null": None, "array": fills, "missing": _MISSING}[how]
        else:
            value = {"missing": _MISSING, "object": {"0": fills}, "string": "W-2", "null": None}
            artifact = {"fills": value[how]} if how != "missing" else {}
    body: dict[str, Any] = {"kind": "fill"}
    _put(body, "artifact", artifact)
    body["context"] = context
    return body


def _email_body(draw: st.DrawFn) -> dict[str, Any]:
    wanted, same, other, subject, text = draw(_EMAIL_PARTS)
    context: dict[str, Any] = {}
    _put(context, "candidate_id", wanted)
    artifact: dict[str, Any] = {}
    _put(artifact, "candidate_id", wanted if same else other)
    _put(artifact, "subject", subject)
    _put(artifact, "body", text)
    return {"kind": "email", "artifact": artifact, "context": context}


def _playbook_body(draw: st.DrawFn) -> dict[str, Any]:
    title, count, item, position, context = draw(_PLAYBOOK_PARTS)
    steps: list[Any] = [f"Step {i + 1}" for i in range(count)]
    if steps:
        steps[min(position, count - 1)] = item if item != "step" else steps[0]
    artifact: dict[str, Any] = {"steps": steps}
    _put(artifact, "title", title)
    body: dict[str, Any] = {"kind": "playbook", "artifact": artifact}
    _put(body, "context", context)
    return body


_FILL_PARTS: Final = st.tuples(
    st.integers(0, len(FILL_CONTEXTS) - 1),
    st.sampled_from(_COUNTS),
    st.sampled_from(_CONTEXT_CHANGES),
    st.lists(st.sampled_from(_FILL_ENTRIES), max_size=4),
    st.sampled_from(_ARTIFACT_CHANGES),
)
_EMAIL_PARTS: Final = st.tuples(
    st.sampled_from(_EMAIL_IDS),
    st.booleans(),
    st.sampled_from(_EMAIL_IDS),
    st.sampled_from(_SUBJECTS),
    st.sampled_from(("Hello, can you work Monday?", "", _MISSING, ["x"], "Grüße 😀 <b>")),
)
_PLAYBOOK_PARTS: Final = st.tuples(
    st.sampled_from(_TITLES),
    st.sampled_from(_STEP_COUNTS),
    st.sampled_from(_STEP_ITEMS),
    st.integers(0, 20),
    st.sampled_from((_MISSING, None, {"city": "Toledo"}, "ignored")),
)
_VALIDATE_SHAPE: Final = st.sampled_from(
    ("fill", "fill", "fill", "email", "email", "playbook", "playbook", "bad-kind", "not-json")
)


def _render_body(body: dict[str, Any], layout: tuple[bool, tuple[str, str], str | None]) -> str:
    ascii_only, separators, twist = layout
    if twist == "extra":
        body = {**body, "note": "unknown fields are ignored <&>"}
    elif twist == "artifact-first":
        body = dict(reversed(list(body.items())))
    text = json.dumps(body, ensure_ascii=ascii_only, separators=separators)
    if twist == "dup-kind" and text.startswith("{") and len(text) > 2:
        # The last of two equal keys wins (serde_json and encoding/json agree).
        text = '{"kind"' + separators[1] + '"nonsense"' + separators[0] + text[1:]
    return text


@st.composite
def validate_requests(draw: st.DrawFn) -> dict[str, str]:
    """``{"body": text}``: a /v1/validate request body, mostly JSON, against the
    fixture roster: valid fills, emails and playbooks, and each way the contract
    says they fail (phantom ids, wrong city/state/role, duplicates, wrong counts,
    wrong shapes, unknown kinds, non-JSON bodies)."""
    shape = draw(_VALIDATE_SHAPE)
    if shape == "not-json":
        return {"body": draw(st.sampled_from(_NOT_JSON_BODIES))}
    if shape == "fill":
        body = _fill_body(draw)
    elif shape == "email":
        body = _email_body(draw)
    elif shape == "playbook":
        body = _playbook_body(draw)
    else:
        body = _playbook_body(draw)
        del body["kind"]
        _put(body, "kind", draw(st.sampled_from(_BAD_KINDS)))
    return {"body": _render_body(body, draw(_LAYOUT_OPTIONS))}


# -- /v1/iterate ------------------------------------------------------------------

# What one model reply holds, before it is wrapped in prose or fences.
_CONTENTS: Final = (
    "valid", "valid", "valid", "valid_extra", "valid_unicode", "no_json", "no_json_array",
    "broken_json", "invalid", "invalid", "invalid", "invalid_shape", "empty",
)  # fmt: skip
_WRAPPERS: Final = (
    "bare", "bare", "prose", "fenced", "fenced_plain", "fence_then_prose", "long", "two",
    "pretty",
)  # fmt: skip
_NO_JSON_TEXTS: Final = (
    "I am sorry, I cannot find suitable workers.",
    "Voilà — aucun résultat. 你好 😀",
    "<p>No JSON &amp; no luck</p>",
)
# Number literals in an otherwise valid artifact: each is what the contract's
# number model says it is, and a runtime that keeps a different value diverges.
_EXTRA_LITERALS: Final = ("1.0", "12345678901234567890", "1E2", "-0", "0.1", "9007199254740993")
# A model answer longer than the 2000 characters history keeps: the cut falls
# inside this padding, between multi-byte characters.
_LONG_PADDING: Final = "Réflexion 😀 " * 160 + "\n"
_PROMPTS: Final = (
    "Find {n} welders for the Toledo night shift.",
    'Trouve des soudeurs à Toledo — 你好 😀 <b>&amp;</b> "quoted" \\ back',
    "Plain prompt\nwith a newline\tand a tab",
    "x" * 3990 + "é😀" * 20,
    "Long " + "ça 😀 " * 900,
)
_SYSTEMS: Final = (
    _MISSING, _MISSING, "You are a staffing assistant. Answer with JSON only.",
    "Système : réponds en JSON 😀 <&>", "",
)  # fmt: skip
_MAX_ITERATIONS: Final = (_MISSING, _MISSING, 0, 1, 2, 3, 4, 5, None)
_TRACES: Final = (None, None, "", "t-", "trace.", "T_")
_HEADER_NAMES: Final = ("X-Lakehouse-Trace-Id", "x-lakehouse-trace-id")
_SAMPLING: Final = (
    (_MISSING, _MISSING), (_MISSING, _MISSING), (0.7, 256), (0, 1), (1, _MISSING),
    (None, None), (0.25, 4096),
)  # fmt: skip
_MODELS: Final = (("ollama_cloud", "kimi-k2.6"), ("openai", "gpt-4o-mini"), ("mock", "scripted"))


@dataclass(frozen=True)
class _Task:
    """What a scenario asks the model for: the kind, its context and artifacts."""

    kind: str
    context: Any  # _MISSING for none

    def valid(self) -> dict[str, Any]:
        if self.kind == "fill":
            ids = _matching(self.context)
            return {"fills": [{"candidate_id": i} for i in ids[: self.context["target_count"]]]}
        if self.kind == "email":
            return {
                "candidate_id": self.context["candidate_id"],
                "subject": "Shift offer",
                "body": "Hello, can you work Monday?",
            }
        return {"title": "Weld check", "steps": ["Inspect the joint", "Weld", "Grind"]}

    def invalid(self, variant: int) -> dict[str, Any]:
        """A well-formed artifact that fails validation in one way."""
        if self.kind == "fill":
            fills = self.valid()["fills"]
            wrong = ("W-99", "W-1", "W-6", "W-4", "W-5")[variant % 5]
            if variant % 7 == 5:
                return {"fills": [*fills, fills[0]]}  # a duplicate (and a wrong count)
            if variant % 7 == 6:
                return {"fills": fills[:-1]}  # one too few
            return {"fills": [*fills[:-1], {"candidate_id": wrong}]}
        if self.kind == "email":
            other = ("W-99", "W-3", "")[variant % 3]
            return {**self.valid(), "candidate_id": other}
        steps = ([], [f"s{i}" for i in range(21)], ["ok", ""])[variant % 3]
        return {"title": "Weld check", "steps": steps}

    def bad_shape(self, variant: int) -> Any:
        if self.kind == "fill":
            return ({"fills": {"candidate_id": "W-2"}}, {"fills": [{"id": "W-2"}]}, {})[variant % 3]
        if self.kind == "email":
            return ({"candidate_id": "W-2"}, {"subject": 5, "body": "b", "candidate_id": "W-2"})[
                variant % 2
            ]
        return ({"steps": ["a"]}, {"title": "t", "steps": "a"})[variant % 2]


def _matching(context: dict[str, Any]) -> tuple[str, ...]:
    key = (context["city"], context["state"], context["role"])
    return next(ids for ctx, ids in FILL_CONTEXTS if ctx == key)


def _artifact_text(task: _Task, content: str, variant: int) -> str | None:
    """The JSON text of one reply's artifact, or None for a reply without JSON."""
    if content in ("valid", "valid_extra", "valid_unicode"):
        artifact = task.valid()
        if content == "valid_unicode":
            artifact = {**artifact, "note": 'Grüße 😀 <b>&</b> \u2028 "q"'}
        text = json.dumps(artifact, ensure_ascii=variant % 2 == 0)
        if content == "valid_extra":
            literal = _EXTRA_LITERALS[variant % len(_EXTRA_LITERALS)]
            text = text[:-1] + f', "n": {literal}}}'
        return text
    if content == "invalid":
        return json.dumps(task.invalid(variant))
    if content == "invalid_shape":
        return json.dumps(task.bad_shape(variant))
    return None


def _reply_text(task: _Task, content: str, wrapper: str, variant: int) -> str:
    if content == "empty":
        return ""
    if content == "no_json_array":
        return '```json\n[{"candidate_id": "W-2"}]\n```' if variant % 2 else "[1, 2, 3]"
    if content == "broken_json":
        return '{"fills": [{"candidate_id": "W-2"}' if variant % 2 else "{ not json }"
    text = _artifact_text(task, content, variant)
    if text is None:
        return _NO_JSON_TEXTS[variant % len(_NO_JSON_TEXTS)]
    if wrapper == "prose":
        return f"Here is the artifact: {text} Let me know if you need more."
    if wrapper == "fenced":
        return f"```json\n{text}\n```"
    if wrapper == "fenced_plain":
        return f"```\n{text}\n```"
    if wrapper == "fence_then_prose":
        return f"Sure!\n```json\n{text}\n```\nAnything else? {{not json}}"
    if wrapper == "long":
        return _LONG_PADDING[: 1990 + variant % 12] + text
    if wrapper == "two":
        return json.dumps(task.invalid(variant)) + " or rather " + text
    if wrapper == "pretty":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text


_FILL_TASKS: Final = tuple(
    {"target_count": n, "city": c, "state": s, "role": r}
    for (c, s, r), ids in FILL_CONTEXTS
    for n in range(1, min(len(ids), 3) + 1)
)
_TASKS: Final = (
    tuple(_Task("fill", ctx) for ctx in _FILL_TASKS),
    tuple(_Task("email", {"candidate_id": i}) for i in AVAILABLE_IDS),
    tuple(_Task("playbook", c) for c in (_MISSING, None, {"note": "ignored"})),
)
# A scenario is decoded from one draw of random bytes: Hypothesis pays per
# choice, and a scenario has some thirty of them. (Live cases are reduced by
# the engine's JSON reducer, not by Hypothesis, so nothing is lost.)
_SCENARIO_BYTES: Final = 32
_SCENARIO_DATA: Final = st.binary(min_size=_SCENARIO_BYTES, max_size=_SCENARIO_BYTES)


class _Choices:
    """Choices read one byte at a time from a drawn byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data or b"\x00"
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos % len(self.data)]
        self.pos += 1
        return value

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.byte() % len(options)]

    def task(self) -> _Task:
        return self.pick(self.pick(_TASKS))  # type: ignore[no-any-return]

    def request_parts(self) -> list[Any]:
        return [
            self.byte() % len(_PROMPTS),
            self.pick(_SYSTEMS),
            self.pick(_MAX_ITERATIONS),
            self.pick(_TRACES),
            self.pick(_HEADER_NAMES),
            self.pick(_SAMPLING),
            self.pick(_MODELS),
        ]


def _scenario(prefix: str, task: _Task, parts: Sequence[Any], replies: list[Any]) -> dict[str, Any]:
    prompt_index, system, max_iterations, trace, header, (temperature, max_tokens), pm = parts
    request: dict[str, Any] = {
        "kind": task.kind,
        "prompt": _PROMPTS[prompt_index].replace("{n}", str(len(replies))),
        "provider": pm[0],
        "model": pm[1],
    }
    _put(request, "system", system)
    _put(request, "context", task.context)
    _put(request, "max_iterations", max_iterations)
    _put(request, "temperature", temperature)
    _put(request, "max_tokens", max_tokens)
    case: dict[str, Any] = {"request": request, "trace": trace, "replies": replies}
    if trace is not None:
        case["header"] = header
    return {"id": _case_id(prefix, case), **case}


@st.composite
def iterate_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """One /v1/iterate session: the request, the trace header, and the model's
    replies in order (no JSON, invalid and valid artifacts, prose around JSON,
    fences, long answers); ``max_iterations`` absent, null, or 0 to 5; with
    and without a system prompt; unicode and over-4000-character prompts."""
    choices = _Choices(draw(_SCENARIO_DATA))
    task = choices.task()
    replies = [
        _reply_text(task, choices.pick(_CONTENTS), choices.pick(_WRAPPERS), choices.byte() % 42)
        for _ in range(1 + choices.byte() % 5)
    ]
    return _scenario("i", task, choices.request_parts(), replies)


# A fault, then what the model says if it is asked again.
_FAULTS: Final = (
    {"fault": "http_500"}, {"fault": "http_500"}, {"fault": "drop"}, {"fault": "drop"},
    {"fault": "not_json"}, {"fault": "not_json"}, {"fault": "hang"}, {"fault": "no_content"},
    {"text": None}, "slow",
)  # fmt: skip
_BEFORE_FAULT: Final = ("no_json", "invalid", "invalid_shape", "empty")


@st.composite
def fault_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A session whose model fails on one call: HTTP 500, a hang past the
    daemon's upstream timeout, a dropped connection, a body that is not JSON
    (each a 502 and an ``infra_error`` row), or a reply without content, a
    null content or a slow answer (each an ordinary attempt)."""
    choices = _Choices(draw(_SCENARIO_DATA))
    task = choices.task()
    before = choices.byte() % 3
    replies: list[Any] = [
        _reply_text(task, choices.pick(_BEFORE_FAULT), "bare", choices.byte() % 42)
        for _ in range(before)
    ]
    fault = choices.pick(_FAULTS)
    valid = _reply_text(task, "valid", "bare", 0)
    if fault == "slow":
        replies.append({"text": valid, "delay_s": 0.05})
    else:
        replies.extend([fault, valid])
    parts = choices.request_parts()
    # Mostly reach the fault: max_iterations past the calls before it.
    parts[2] = choices.pick((_MISSING, before + 1, 5, before + 1, 0, None))
    return _scenario("f", task, parts, replies)
